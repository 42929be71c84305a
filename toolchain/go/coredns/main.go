// CoreDNS with the plugins a cluster DNS needs, and nothing that pulls in cloud SDKs.
//
// Upstream's main imports github.com/coredns/coredns/core/plugin, which links every plugin
// (route53, azure, clouddns, etcd, nomad, ...). A plugin registers itself with Caddy in its
// init function, so importing only the ones below is all it takes to build a slimmer server;
// the execution order still comes from dnsserver.Directives. A Corefile that names a plugin
// left out here fails at start with "Unknown directive".
//
// Deliberately left out: forward (the cluster forwards nowhere outside), and every plugin
// that talks to a cloud API.
package main

import (
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/file"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/hosts"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/loop"
	_ "github.com/coredns/coredns/plugin/metrics"
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/reload"
	_ "github.com/coredns/coredns/plugin/rewrite"
	_ "github.com/coredns/coredns/plugin/template"
	_ "github.com/coredns/coredns/plugin/whoami"
)

func main() {
	coremain.Run()
}
