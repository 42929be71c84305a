// Replaces lego v5's generated DNS-provider factory in the traefik build (see build.sh,
// step_traefik, and docs/toolchain.md).
//
// Upstream's version of this file imports all ~180 DNS-01 providers of lego, and with them
// the SDKs of every DNS host; fourteen of those SDK versions are not on the module proxy
// reachable here, so traefik cannot be built with it. Traefik only calls this factory when
// an ACME resolver uses a DNS challenge, which a local cluster never does. The providers
// kept are the ones that need no vendor SDK: a script (exec), an HTTP endpoint (httpreq)
// and manual entry. Any other name fails with the same error as an unknown one would, plus
// the reason.
//
// The directory name starts with "_" so the Go tool ignores it inside the wrapper module;
// build.sh copies it over the staged copy of lego.
package dns

import (
	"fmt"

	"github.com/go-acme/lego/v5/challenge"
	"github.com/go-acme/lego/v5/providers/dns/exec"
	"github.com/go-acme/lego/v5/providers/dns/httpreq"
	"github.com/go-acme/lego/v5/providers/dns/manual"
)

// NewDNSChallengeProviderByName returns the DNS-01 provider called name.
func NewDNSChallengeProviderByName(name string) (challenge.Provider, error) {
	switch name {
	case "exec":
		return exec.NewDNSProvider()
	case "httpreq":
		return httpreq.NewDNSProvider()
	case "manual":
		return manual.NewDNSProvider()
	default:
		return nil, fmt.Errorf("unrecognized DNS provider: %s (this traefik build links only the exec, httpreq and manual DNS providers)", name)
	}
}
