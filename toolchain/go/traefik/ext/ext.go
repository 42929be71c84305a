// Package ext recreates traefik's dynamic-configuration extension module
// (github.com/traefik/traefik/dynamic/ext, upstream at pkg/config/dynamic/ext).
//
// Traefik's own go.mod replaces it with that nested directory, which is not part of the
// published github.com/traefik/traefik/v3 module and not on the module proxy. Traefik
// v3.7.13 embeds two of its types inline in dynamic.HTTP and dynamic.Router; in the
// open-source build they carry no fields, so empty structs keep the configuration schema
// exactly as upstream's binary has it.
package ext

// HTTP is embedded inline in dynamic.HTTP.
type HTTP struct{}

// Router is embedded inline in dynamic.Router.
type Router struct{}
