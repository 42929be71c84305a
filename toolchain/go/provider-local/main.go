// Stand-ins for the pulumi-resource-random and pulumi-resource-tls plugins.
//
// The upstream providers are bridged Terraform providers whose provider modules the Go module
// proxy reachable here does not serve, so they cannot be built (see docs/toolchain.md). This
// binary implements, natively, only the resources this project uses, with the same type
// tokens and property names as the upstream schemas, so the pinned Python SDKs
// (pulumi-random, pulumi-tls) work against it:
//
//	random:index/randomPassword:RandomPassword, random:index/randomString:RandomString
//	tls:index/privateKey:PrivateKey, tls:index/selfSignedCert:SelfSignedCert,
//	tls:index/certRequest:CertRequest, tls:index/locallySignedCert:LocallySignedCert
//
// Which provider it is comes from the name it runs under (pulumi-resource-random or
// pulumi-resource-tls; `pulumi plugin install --file` installs it under that name), or from
// $PULUMI_LOCAL_PROVIDER. Every input change replaces the resource, as in the upstream
// providers (whose inputs are all ForceNew); invokes (functions) are not implemented.
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// Set with -ldflags -X main.randomVersion=... / main.tlsVersion=...
var (
	randomVersion = "0.0.0"
	tlsVersion    = "0.0.0"
)

// Wire encodings of the Pulumi property protocol.
const (
	unknownValue = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
	sigKey       = "4dabf18193072939515e22adb298388d"
	secretSig    = "1b47061264138c4ac30d75fd1eb44270"
)

// props is a resource's properties with secret wrappers removed; secret remembers which
// top-level keys were secret.
type props map[string]*structpb.Value

type resourceImpl struct {
	inputs   []string // input property names (a change to any of them replaces)
	secrets  []string // output properties that are always secret
	defaults func(props)
	outputs  []string // computed output names (unknown during preview)
	create   func(in props) (id string, out props, err error)
}

type provider struct {
	pulumirpc.UnimplementedResourceProviderServer
	name      string
	version   string
	resources map[string]*resourceImpl
}

func isSecret(v *structpb.Value) bool {
	s := v.GetStructValue()
	return s != nil && s.Fields[sigKey].GetStringValue() == secretSig
}

func unwrap(v *structpb.Value) *structpb.Value {
	for isSecret(v) {
		v = v.GetStructValue().Fields["value"]
	}
	if s := v.GetStructValue(); s != nil {
		out := &structpb.Struct{Fields: map[string]*structpb.Value{}}
		for k, f := range s.Fields {
			out.Fields[k] = unwrap(f)
		}
		return structpb.NewStructValue(out)
	}
	if l := v.GetListValue(); l != nil {
		out := &structpb.ListValue{}
		for _, f := range l.Values {
			out.Values = append(out.Values, unwrap(f))
		}
		return structpb.NewListValue(out)
	}
	return v
}

func hasUnknown(v *structpb.Value) bool {
	switch {
	case v == nil:
		return false
	case v.GetStringValue() == unknownValue:
		return true
	case v.GetStructValue() != nil:
		for _, f := range v.GetStructValue().Fields {
			if hasUnknown(f) {
				return true
			}
		}
	case v.GetListValue() != nil:
		for _, f := range v.GetListValue().Values {
			if hasUnknown(f) {
				return true
			}
		}
	}
	return false
}

func secret(v *structpb.Value) *structpb.Value {
	return structpb.NewStructValue(&structpb.Struct{Fields: map[string]*structpb.Value{
		sigKey: structpb.NewStringValue(secretSig), "value": v,
	}})
}

func plain(s *structpb.Struct) props {
	p := props{}
	if s == nil {
		return p
	}
	for k, v := range s.Fields {
		p[k] = unwrap(v)
	}
	return p
}

func (p props) str(k string) string   { return p[k].GetStringValue() }
func (p props) num(k string) int      { return int(p[k].GetNumberValue()) }
func (p props) boolean(k string) bool { return p[k].GetBoolValue() }
func (p props) has(k string) bool {
	v, ok := p[k]
	if !ok || v == nil {
		return false
	}
	_, isNull := v.Kind.(*structpb.Value_NullValue)
	return !isNull
}
func (p props) strs(k string) []string {
	var out []string
	for _, v := range p[k].GetListValue().GetValues() {
		out = append(out, v.GetStringValue())
	}
	return out
}
func (p props) setDefault(k string, v *structpb.Value) {
	if !p.has(k) {
		p[k] = v
	}
}

func resourceType(urn, typ string) string {
	if typ != "" {
		return typ
	}
	// urn:pulumi:stack::project::parent$type::name
	parts := strings.Split(urn, "::")
	if len(parts) < 4 {
		return ""
	}
	t := parts[2]
	if i := strings.LastIndex(t, "$"); i >= 0 {
		t = t[i+1:]
	}
	return t
}

func (p *provider) impl(urn, typ string) (*resourceImpl, error) {
	t := resourceType(urn, typ)
	if r, ok := p.resources[t]; ok {
		return r, nil
	}
	return nil, status.Errorf(codes.Unimplemented,
		"resource type %q is not implemented by the local %s stand-in provider (see docs/toolchain.md)", t, p.name)
}

// toStruct turns props into a wire struct, wrapping the given keys as secrets.
func toStruct(p props, secrets []string, keepSecret map[string]bool) *structpb.Struct {
	s := &structpb.Struct{Fields: map[string]*structpb.Value{}}
	sec := map[string]bool{}
	for _, k := range secrets {
		sec[k] = true
	}
	for k, v := range p {
		if sec[k] || keepSecret[k] {
			s.Fields[k] = secret(v)
		} else {
			s.Fields[k] = v
		}
	}
	return s
}

func secretKeys(s *structpb.Struct) map[string]bool {
	out := map[string]bool{}
	if s == nil {
		return out
	}
	for k, v := range s.Fields {
		if isSecret(v) {
			out[k] = true
		}
	}
	return out
}

func (p *provider) Handshake(context.Context, *pulumirpc.ProviderHandshakeRequest) (*pulumirpc.ProviderHandshakeResponse, error) {
	return &pulumirpc.ProviderHandshakeResponse{AcceptSecrets: true, AcceptResources: true}, nil
}

func (p *provider) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: p.version}, nil
}

func (p *provider) GetSchema(context.Context, *pulumirpc.GetSchemaRequest) (*pulumirpc.GetSchemaResponse, error) {
	return &pulumirpc.GetSchemaResponse{Schema: fmt.Sprintf(`{"name":%q,"version":%q}`, p.name, p.version)}, nil
}

func (p *provider) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.News}, nil
}

func (p *provider) DiffConfig(context.Context, *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
}

func (p *provider) Configure(context.Context, *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	return &pulumirpc.ConfigureResponse{AcceptSecrets: true, SupportsPreview: true, AcceptResources: true}, nil
}

func (p *provider) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	r, err := p.impl(req.Urn, req.Type)
	if err != nil {
		return nil, err
	}
	news := req.News
	if news == nil {
		news = &structpb.Struct{Fields: map[string]*structpb.Value{}}
	}
	if r.defaults != nil {
		in := props{}
		for k, v := range news.Fields {
			in[k] = v // keep secret wrappers and unknowns as they came
		}
		r.defaults(in)
		news = &structpb.Struct{Fields: in}
	}
	return &pulumirpc.CheckResponse{Inputs: news}, nil
}

func (p *provider) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	r, err := p.impl(req.Urn, req.Type)
	if err != nil {
		return nil, err
	}
	olds, news := req.Olds, req.News
	var replaces []string
	for _, k := range r.inputs {
		ov, nv := olds.GetFields()[k], news.GetFields()[k]
		if hasUnknown(nv) {
			replaces = append(replaces, k)
			continue
		}
		oNull, nNull := isNullKind(ov), isNullKind(nv)
		if oNull && nNull {
			continue
		}
		if oNull != nNull || !proto.Equal(unwrap(ov), unwrap(nv)) {
			replaces = append(replaces, k)
		}
	}
	if len(replaces) == 0 {
		return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
	}
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_SOME, Replaces: replaces, Diffs: replaces}, nil
}

func isNullKind(v *structpb.Value) bool {
	if v == nil || v.Kind == nil {
		return true
	}
	_, ok := v.Kind.(*structpb.Value_NullValue)
	return ok
}

func (p *provider) Create(_ context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	r, err := p.impl(req.Urn, req.Type)
	if err != nil {
		return nil, err
	}
	keep := secretKeys(req.Properties)
	in := plain(req.Properties)
	unknownInputs := false
	for _, v := range req.Properties.GetFields() {
		if hasUnknown(v) {
			unknownInputs = true
		}
	}
	if req.Preview || unknownInputs {
		out := props{}
		for k, v := range req.Properties.GetFields() {
			out[k] = v
		}
		for _, k := range r.outputs {
			out[k] = structpb.NewStringValue(unknownValue)
		}
		return &pulumirpc.CreateResponse{Id: "", Properties: &structpb.Struct{Fields: out}}, nil
	}
	id, out, err := r.create(in)
	if err != nil {
		return nil, err
	}
	for k, v := range in {
		if _, ok := out[k]; !ok {
			out[k] = v
		}
	}
	return &pulumirpc.CreateResponse{Id: id, Properties: toStruct(out, r.secrets, keep)}, nil
}

func (p *provider) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	// Nothing lives outside the state: reading returns what the state holds.
	return &pulumirpc.ReadResponse{Id: req.Id, Properties: req.Properties, Inputs: req.Inputs}, nil
}

func (p *provider) Update(_ context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	// Diff never reports an in-place update; keep the old outputs, take the new inputs.
	out := map[string]*structpb.Value{}
	for k, v := range req.Olds.GetFields() {
		out[k] = v
	}
	for k, v := range req.News.GetFields() {
		out[k] = v
	}
	return &pulumirpc.UpdateResponse{Properties: &structpb.Struct{Fields: out}}, nil
}

func (p *provider) Delete(context.Context, *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

func (p *provider) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

func main() {
	name := os.Getenv("PULUMI_LOCAL_PROVIDER")
	if name == "" {
		name = strings.TrimPrefix(filepath.Base(os.Args[0]), "pulumi-resource-")
	}
	var p *provider
	switch name {
	case "random":
		p = &provider{name: "random", version: randomVersion, resources: randomResources()}
	case "tls":
		p = &provider{name: "tls", version: tlsVersion, resources: tlsResources()}
	default:
		fmt.Fprintf(os.Stderr, "run as pulumi-resource-random or pulumi-resource-tls (or set PULUMI_LOCAL_PROVIDER), not %q\n", name)
		os.Exit(1)
	}
	for _, a := range os.Args[1:] {
		if a == "--version" || a == "-version" {
			fmt.Println(p.version)
			return
		}
	}
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Init: func(s *grpc.Server) error {
			pulumirpc.RegisterResourceProviderServer(s, p)
			return nil
		},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-resource-%s: %v\n", name, err)
		os.Exit(1)
	}
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-resource-%s: %v\n", name, err)
		os.Exit(1)
	}
}
