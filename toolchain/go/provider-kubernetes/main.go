// pulumi-resource-kubernetes built from the published provider module.
//
// The upstream main embeds schema-embed.json and terraform-mapping-embed.json, which
// `go generate` writes and which are therefore not part of the module. toolchain/build.sh
// writes both files next to this one (in a scratch copy of this directory) from the
// module's schema.json (with "version" set) and terraform-mapping.json, then builds.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema-embed.json
var pulumiSchema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	provider.Serve("kubernetes", version.Version, pulumiSchema, terraformMapping)
}
