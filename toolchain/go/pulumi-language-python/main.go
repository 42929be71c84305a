// pulumi-language-python: a small Python language host for the Pulumi engine.
//
// The upstream host (module github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3)
// is not served by the Go module proxy that this project can reach, so this is a
// minimal re-implementation of the parts of the LanguageRuntime gRPC service that
// `pulumi preview/up/destroy/refresh` need for a Python program:
//
//   - Run starts `pulumi-language-python-exec` (shipped in the pulumi sdk/v3 module and
//     installed next to this binary) with the interpreter of the project's virtualenv
//     (runtime option `virtualenv`), or $PULUMI_PYTHON_CMD, or python3.
//   - RunPlugin runs Python plugins such as policy packs (`python -u <dir> ARGS`).
//   - Handshake, GetPluginInfo, GetRequiredPlugins/Packages (none: providers are
//     loaded on demand from the plugin cache), InstallDependencies (nothing to do:
//     the virtualenv is managed by the project), About, GetProgramDependencies and
//     RuntimeOptionsPrompts return small, valid answers.
//
// Code generation, packing and `pulumi new` templates are not supported.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
)

// Exit code the exec script uses after it has already shown the user an error.
const exitCodeUserMessageShown = 32

type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	engineAddress string
	execDir       string

	mu      sync.Mutex
	root    string
	program string
	running map[*exec.Cmd]struct{}
}

func (h *host) Handshake(_ context.Context, req *pulumirpc.LanguageHandshakeRequest) (*pulumirpc.LanguageHandshakeResponse, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if req.EngineAddress != "" {
		h.engineAddress = req.EngineAddress
	}
	if req.RootDirectory != nil {
		h.root = *req.RootDirectory
	}
	if req.ProgramDirectory != nil {
		h.program = *req.ProgramDirectory
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *host) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version.Version}, nil
}

func (h *host) GetRequiredPlugins(context.Context, *pulumirpc.GetRequiredPluginsRequest) (*pulumirpc.GetRequiredPluginsResponse, error) {
	return &pulumirpc.GetRequiredPluginsResponse{}, nil
}

func (h *host) GetRequiredPackages(context.Context, *pulumirpc.GetRequiredPackagesRequest) (*pulumirpc.GetRequiredPackagesResponse, error) {
	return &pulumirpc.GetRequiredPackagesResponse{}, nil
}

func (h *host) InstallDependencies(*pulumirpc.InstallDependenciesRequest, grpc.ServerStreamingServer[pulumirpc.InstallDependenciesResponse]) error {
	return nil
}

func (h *host) RuntimeOptionsPrompts(context.Context, *pulumirpc.RuntimeOptionsRequest) (*pulumirpc.RuntimeOptionsResponse, error) {
	return &pulumirpc.RuntimeOptionsResponse{}, nil
}

func (h *host) GetProgramDependencies(context.Context, *pulumirpc.GetProgramDependenciesRequest) (*pulumirpc.GetProgramDependenciesResponse, error) {
	return &pulumirpc.GetProgramDependenciesResponse{}, nil
}

func (h *host) About(_ context.Context, req *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	py, _ := h.python(req.GetInfo())
	out, err := exec.Command(py, "--version").CombinedOutput()
	v := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(string(out)), "Python "))
	if err != nil {
		v = "unknown"
	}
	return &pulumirpc.AboutResponse{Executable: py, Version: v}, nil
}

// python returns the interpreter to use and the virtualenv directory (if any).
func (h *host) python(info *pulumirpc.ProgramInfo) (string, string) {
	root := h.root
	if info != nil && info.RootDirectory != "" {
		root = info.RootDirectory
	}
	venv := os.Getenv("PULUMI_RUNTIME_VIRTUALENV")
	if info != nil && info.Options != nil {
		if v, ok := info.Options.Fields["virtualenv"]; ok && v.GetStringValue() != "" {
			venv = v.GetStringValue()
		}
	}
	if venv != "" {
		if !filepath.IsAbs(venv) && root != "" {
			venv = filepath.Join(root, venv)
		}
		return filepath.Join(venv, "bin", "python"), venv
	}
	if cmd := os.Getenv("PULUMI_PYTHON_CMD"); cmd != "" {
		return cmd, ""
	}
	return "python3", ""
}

func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	py, venv := h.python(req.GetInfo())
	if venv != "" {
		if _, err := os.Stat(py); err != nil {
			return &pulumirpc.RunResponse{Error: fmt.Sprintf(
				"the 'virtualenv' option is set to %q, but %q does not exist; create it with python3 -m venv and install the requirements", venv, py)}, nil
		}
	}

	pwd := req.Pwd
	program := req.Program
	if info := req.GetInfo(); info != nil {
		if info.ProgramDirectory != "" {
			pwd = info.ProgramDirectory
		}
		if info.EntryPoint != "" {
			program = info.EntryPoint
		}
	}
	if program == "" {
		program = "."
	}
	root := h.root
	if info := req.GetInfo(); info != nil && info.RootDirectory != "" {
		root = info.RootDirectory
	}

	args := []string{"-u", filepath.Join(h.execDir, "pulumi-language-python-exec"),
		"--monitor", req.MonitorAddress,
		"--engine", h.engineAddress,
		"--project", req.Project,
		"--stack", req.Stack,
		"--pwd", pwd,
		"--dry_run", strconv.FormatBool(req.DryRun),
		"--parallel", strconv.Itoa(int(req.Parallel)),
	}
	if req.Organization != "" {
		args = append(args, "--organization", req.Organization)
	}
	if root != "" {
		args = append(args, "--root_directory", root)
	}
	args = append(args, program)
	args = append(args, req.Args...)

	config := req.Config
	if config == nil {
		config = map[string]string{}
	}
	cfg, err := json.Marshal(config)
	if err != nil {
		return nil, err
	}
	keys := req.ConfigSecretKeys
	if keys == nil {
		keys = []string{}
	}
	secretKeys, err := json.Marshal(keys)
	if err != nil {
		return nil, err
	}

	cmd := exec.Command(py, args...)
	cmd.Dir = pwd
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	env := os.Environ()
	env = append(env, "PULUMI_CONFIG="+string(cfg), "PULUMI_CONFIG_SECRET_KEYS="+string(secretKeys))
	if venv != "" {
		env = append(env, "VIRTUAL_ENV="+venv, "PATH="+filepath.Join(venv, "bin")+string(os.PathListSeparator)+os.Getenv("PATH"))
	}
	cmd.Env = env

	if err := cmd.Start(); err != nil {
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("starting %s: %v", py, err)}, nil
	}
	h.mu.Lock()
	h.running[cmd] = struct{}{}
	h.mu.Unlock()
	err = cmd.Wait()
	h.mu.Lock()
	delete(h.running, cmd)
	h.mu.Unlock()

	if err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			if exitErr.ExitCode() == exitCodeUserMessageShown {
				return &pulumirpc.RunResponse{Bail: true}, nil
			}
			return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program exited with non-zero exit code: %d", exitErr.ExitCode())}, nil
		}
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	return &pulumirpc.RunResponse{}, nil
}

// RunPlugin runs a plugin written in Python (e.g. a policy pack: `pulumi up --policy-pack DIR`):
// `python -u <program> ARGS...` in the plugin's directory, streaming its output to the engine.
func (h *host) RunPlugin(req *pulumirpc.RunPluginRequest, server grpc.ServerStreamingServer[pulumirpc.RunPluginResponse]) error {
	info := req.GetInfo()
	py, venv := h.python(info)
	program := req.Program
	pwd := req.Pwd
	if info != nil && info.ProgramDirectory != "" {
		program = info.ProgramDirectory
		if info.EntryPoint != "" && info.EntryPoint != "." {
			program = filepath.Join(info.ProgramDirectory, info.EntryPoint)
		}
	}
	if program == "" {
		return status.Error(codes.InvalidArgument, "RunPlugin: no program given")
	}
	cmd := exec.Command(py, append([]string{"-u", program}, req.Args...)...)
	cmd.Dir = pwd
	env := append(os.Environ(), req.Env...)
	if venv != "" {
		env = append(env, "VIRTUAL_ENV="+venv, "PATH="+filepath.Join(venv, "bin")+string(os.PathListSeparator)+os.Getenv("PATH"))
	}
	cmd.Env = env
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", py, err)
	}
	var sendMu sync.Mutex
	send := func(r *pulumirpc.RunPluginResponse) {
		sendMu.Lock()
		defer sendMu.Unlock()
		_ = server.Send(r)
	}
	var wg sync.WaitGroup
	pump := func(r io.Reader, wrap func([]byte) *pulumirpc.RunPluginResponse) {
		defer wg.Done()
		buf := make([]byte, 32*1024)
		for {
			n, err := r.Read(buf)
			if n > 0 {
				send(wrap(append([]byte(nil), buf[:n]...)))
			}
			if err != nil {
				return
			}
		}
	}
	wg.Add(2)
	go pump(stdout, func(b []byte) *pulumirpc.RunPluginResponse {
		return &pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stdout{Stdout: b}}
	})
	go pump(stderr, func(b []byte) *pulumirpc.RunPluginResponse {
		return &pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stderr{Stderr: b}}
	})
	go func() {
		<-server.Context().Done()
		if cmd.Process != nil {
			_ = cmd.Process.Kill()
		}
	}()
	wg.Wait()
	code := 0
	if err := cmd.Wait(); err != nil {
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) {
			return err
		}
		code = exitErr.ExitCode()
	}
	send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Exitcode{Exitcode: int32(code)}})
	return nil
}

// parseArgs accepts the flags the engine may pass (-tracing X, -v=N, -logtostderr, -root=...)
// and returns the engine address, the last positional argument.
func parseArgs(argv []string) (string, error) {
	var positional []string
	for i := 0; i < len(argv); i++ {
		a := argv[i]
		if a == "--version" || a == "-version" {
			fmt.Println(version.Version)
			os.Exit(0)
		}
		if strings.HasPrefix(a, "-") {
			name := strings.TrimLeft(a, "-")
			if !strings.Contains(name, "=") && (name == "tracing" || name == "root" || name == "virtualenv" ||
				name == "typechecker" || name == "toolchain") && i+1 < len(argv) {
				i++
			}
			continue
		}
		positional = append(positional, a)
	}
	if len(positional) == 0 {
		return "", errors.New("missing required engine RPC address argument")
	}
	return positional[len(positional)-1], nil
}

func main() {
	engine, err := parseArgs(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "pulumi-language-python:", err)
		os.Exit(1)
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "pulumi-language-python:", err)
		os.Exit(1)
	}
	if resolved, err := filepath.EvalSymlinks(self); err == nil {
		self = resolved
	}
	execDir := filepath.Dir(self)
	if _, err := os.Stat(filepath.Join(execDir, "pulumi-language-python-exec")); err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-python: pulumi-language-python-exec not found next to %s\n", self)
		os.Exit(1)
	}

	h := &host{engineAddress: engine, execDir: execDir, running: map[*exec.Cmd]struct{}{}}
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Init: func(s *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(s, h)
			return nil
		},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "pulumi-language-python: could not start the language host RPC server:", err)
		os.Exit(1)
	}
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		fmt.Fprintln(os.Stderr, "pulumi-language-python: RPC server stopped:", err)
		os.Exit(1)
	}
}
