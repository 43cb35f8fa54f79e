// Command kube-testenv runs a real kube-apiserver plus an embedded etcd in ONE process, for the
// end-to-end tests of kubectl doctor (test/harness/cluster.ts spawns it).
//
// Versions: Kubernetes v1.37.1 (k8s.io/kubernetes v1.37.1, staging modules v0.37.1) with embedded
// etcd v3.7.0 (exactly the go.etcd.io/etcd/server/v3 version k8s.io/kubernetes v1.37.1 requires).
// Why: 1.37 is the newest minor on the Go module proxy (its version list only advertises up to
// v1.36.3, but v1.37.0..v1.37.2 resolve by exact version; v1.37.3 does not exist). v1.37.2 is the
// newest patch, but the proxy refuses its module zip ("403 Forbidden: This module version is not
// available."; only its .mod/.info are served), so v1.37.1 is the newest that builds. Its go.mod
// declares `go 1.26.0` / `godebug default=go1.26`, and it builds unpatched with Go 1.26.8 and
// GOTOOLCHAIN=local. Regenerate the require/replace lines for another version with
// ./gen-replaces.sh 1.NN.P (then check that `--endpoint-reconciler-type=none` etc. still apply).
//
// Flags kube-apiserver gets (envtest-style): --etcd-servers, --bind-address/--advertise-address
// 127.0.0.1, --secure-port <free port>, --cert-dir, --tls-cert-file/--tls-private-key-file,
// --token-auth-file, --authorization-mode=RBAC, --service-account-{issuer,key-file,signing-key-file},
// --service-cluster-ip-range, --allow-privileged, --disable-admission-plugins=ServiceAccount,
// --endpoint-reconciler-type=none (1.37 refuses a loopback advertise address otherwise).
//
// Behaviour:
//   - creates (or uses --dir) a work dir with a CA, a serving cert for 127.0.0.1/::1/localhost, a
//     service-account key pair and a static token file;
//   - starts etcd (embedded, UnsafeNoFsync, free loopback ports, errors-only logging);
//   - starts kube-apiserver in-process (cmd/kube-apiserver/app.NewAPIServerCommand + SetArgs);
//   - polls https://127.0.0.1:PORT/readyz with the admin token; when it answers 200 it prints exactly
//     one JSON line on stdout and nothing else ever goes to stdout (logs go to stderr);
//   - shuts down on SIGTERM/SIGINT, when stdin reaches EOF (the parent died or closed the pipe;
//     disable with --ignore-stdin), or when the parent dies (PR_SET_PDEATHSIG on Linux), and then
//     removes the work dir. Linux and macOS only (uses SIGUSR2/syscall.Kill).
//
// Tokens (--token-auth-file): the admin user "kte-admin" is in group system:masters; the limited user
// "doctor-limited" has no groups (so only system:authenticated). RBAC is the only authorizer.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"

	_ "time/tzdata"
)

const (
	adminUser   = "kte-admin"
	limitedUser = "doctor-limited"
)

// readyLine is the single JSON line printed on stdout once /readyz answers 200.
type readyLine struct {
	Ready             bool    `json:"ready"`
	Server            string  `json:"server"`
	CAFile            string  `json:"caFile"`
	AdminToken        string  `json:"adminToken"`
	AdminUser         string  `json:"adminUser"`
	LimitedToken      string  `json:"limitedToken"`
	LimitedUser       string  `json:"limitedUser"`
	Dir               string  `json:"dir"`
	Pid               int     `json:"pid"`
	KubernetesVersion string  `json:"kubernetesVersion"`
	EtcdVersion       string  `json:"etcdVersion"`
	StartupSeconds    float64 `json:"startupSeconds"`
}

var (
	// shutdownRequested is set once a SIGTERM/SIGINT was received or sent to ourselves.
	shutdownRequested atomic.Bool
	// apiserverStarted is set just before kube-apiserver installs its signal handler.
	apiserverStarted atomic.Bool
	workDir          string
	removeDir        bool
	cleanupOnce      sync.Once
)

func logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "kube-testenv: "+format+"\n", a...)
}

// requestShutdown sends ourselves ONE SIGTERM (kube-apiserver's graceful shutdown), unless a
// shutdown is already under way.
func requestShutdown() {
	if !shutdownRequested.Swap(true) {
		_ = syscall.Kill(os.Getpid(), syscall.SIGTERM)
	}
}

func cleanup() {
	cleanupOnce.Do(func() {
		if removeDir && workDir != "" {
			if err := os.RemoveAll(workDir); err != nil {
				logf("removing %s: %v", workDir, err)
			}
		}
	})
}

func fatal(format string, a ...any) {
	logf(format, a...)
	cleanup()
	os.Exit(1)
}

func main() {
	start := time.Now()
	dirFlag := flag.String("dir", "", "work dir to use (created if missing; removed on exit). Default: a new temp dir")
	keepDir := flag.Bool("keep-dir", false, "do not remove the work dir on exit")
	ignoreStdin := flag.Bool("ignore-stdin", false, "do not shut down when stdin reaches EOF")
	readyTimeout := flag.Duration("ready-timeout", 3*time.Minute, "give up if /readyz is not OK by then")
	verbosity := flag.Int("v", 0, "kube-apiserver log verbosity (klog -v)")
	serviceCIDR := flag.String("service-cluster-ip-range", "10.0.0.0/24", "service cluster IP range")
	profiling := flag.Bool("profiling", false, "serve /debug/pprof (kube-apiserver --profiling); npm run bench runs the Go collector through it between measured scans")
	flag.Parse()

	var err error
	if *dirFlag != "" {
		workDir, err = filepath.Abs(*dirFlag)
		if err == nil {
			err = os.MkdirAll(workDir, 0o700)
		}
	} else {
		workDir, err = os.MkdirTemp("", "kube-testenv-")
	}
	if err != nil {
		fatal("work dir: %v", err)
	}
	removeDir = !*keepDir

	// When the parent dies, our stdout/stderr pipes break; by default Go then dies of SIGPIPE on the
	// next log line, before any cleanup. Ignore it: writes just fail with EPIPE.
	signal.Ignore(syscall.SIGPIPE)

	// Our own signal watcher (kube-apiserver registers its own SIGTERM/SIGINT handler too; Go
	// delivers to both). It records that a shutdown is under way, exits at once if the apiserver has
	// not been started yet, and otherwise guarantees that the work dir is removed even if the
	// apiserver hangs while shutting down. parentDeathSignal (SIGUSR2) is ours only: the apiserver
	// exits at once, skipping our cleanup, on a SECOND SIGTERM/SIGINT, so the other triggers (stdin
	// EOF, parent death) go through requestShutdown, which never adds a SIGTERM to one received.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, parentDeathSignal)
	var watchdog sync.Once
	go func() {
		for s := range sigs {
			if s == parentDeathSignal {
				logf("parent process died; shutting down")
				requestShutdown()
				continue
			}
			shutdownRequested.Store(true)
			if !apiserverStarted.Load() {
				logf("%v before kube-apiserver started; exiting", s)
				cleanup()
				os.Exit(1)
			}
			watchdog.Do(func() {
				go func() {
					time.Sleep(30 * time.Second)
					logf("apiserver did not stop within 30s of the signal; exiting")
					cleanup()
					os.Exit(2)
				}()
			})
		}
	}()
	setParentDeathSignal() // Linux: SIGUSR2 when the parent process dies

	if !*ignoreStdin {
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			logf("stdin closed; shutting down")
			requestShutdown()
		}()
	}

	pki, err := writePKI(workDir)
	if err != nil {
		fatal("pki: %v", err)
	}

	etcdURL, etcdStop, etcdVersion, err := startEtcd(filepath.Join(workDir, "etcd"))
	if err != nil {
		fatal("etcd: %v", err)
	}

	port, err := freePort()
	if err != nil {
		etcdStop()
		fatal("free port: %v", err)
	}
	server := "https://127.0.0.1:" + strconv.Itoa(port)

	args := []string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--cert-dir=" + pki.certDir,
		"--tls-cert-file=" + pki.servingCert,
		"--tls-private-key-file=" + pki.servingKey,
		"--token-auth-file=" + pki.tokenFile,
		"--authorization-mode=RBAC",
		"--service-account-issuer=" + server,
		"--service-account-key-file=" + pki.saPub,
		"--service-account-signing-key-file=" + pki.saKey,
		"--service-cluster-ip-range=" + *serviceCIDR,
		"--allow-privileged=true",
		"--disable-admission-plugins=ServiceAccount",
		"--profiling=" + strconv.FormatBool(*profiling),
		// 1.37 refuses a loopback --advertise-address with the default "lease" endpoint reconciler
		// ("cannot use public IP 127.0.0.1 with endpoint reconciler"); no endpoints needed here.
		"--endpoint-reconciler-type=none",
		"--v=" + strconv.Itoa(*verbosity),
	}

	ctx, cancelPoll := context.WithCancel(context.Background())
	go func() {
		if err := waitReady(ctx, server, pki.caFile, pki.adminToken, *readyTimeout); err != nil {
			if ctx.Err() == nil {
				logf("%v", err)
				requestShutdown()
			}
			return
		}
		line, _ := json.Marshal(readyLine{
			Ready:             true,
			Server:            server,
			CAFile:            pki.caFile,
			AdminToken:        pki.adminToken,
			AdminUser:         adminUser,
			LimitedToken:      pki.limitedToken,
			LimitedUser:       limitedUser,
			Dir:               workDir,
			Pid:               os.Getpid(),
			KubernetesVersion: moduleVersion("k8s.io/kubernetes"),
			EtcdVersion:       etcdVersion,
			StartupSeconds:    time.Since(start).Seconds(),
		})
		fmt.Fprintln(os.Stdout, string(line))
	}()

	apiserverStarted.Store(true)
	cmd := app.NewAPIServerCommand() // installs the SIGTERM/SIGINT handler (once per process)
	cmd.SetArgs(args)
	code := cli.Run(cmd)
	cancelPoll()
	etcdStop()
	cleanup()
	os.Exit(code)
}

// moduleVersion reports the version of a module linked into this binary (works with -trimpath).
func moduleVersion(path string) string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			if m.Path == path {
				return m.Version
			}
		}
	}
	return "unknown"
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func startEtcd(dir string) (clientURL string, stop func(), version string, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", nil, "", err
	}
	cp, err := freePort()
	if err != nil {
		return "", nil, "", err
	}
	pp, err := freePort()
	if err != nil {
		return "", nil, "", err
	}
	cu := url.URL{Scheme: "http", Host: "127.0.0.1:" + strconv.Itoa(cp)}
	pu := url.URL{Scheme: "http", Host: "127.0.0.1:" + strconv.Itoa(pp)}

	cfg := embed.NewConfig()
	cfg.Name = "kube-testenv"
	cfg.Dir = dir
	cfg.UnsafeNoFsync = true
	cfg.Logger = "zap"
	cfg.LogLevel = "error"
	cfg.LogOutputs = []string{"stderr"}
	cfg.ListenClientUrls = []url.URL{cu}
	cfg.AdvertiseClientUrls = []url.URL{cu}
	cfg.ListenPeerUrls = []url.URL{pu}
	cfg.AdvertisePeerUrls = []url.URL{pu}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)

	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return "", nil, "", err
	}
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(60 * time.Second):
		e.Server.Stop()
		e.Close()
		return "", nil, "", errors.New("etcd did not become ready within 60s")
	}
	var once sync.Once
	return cu.String(), func() { once.Do(e.Close) }, moduleVersion("go.etcd.io/etcd/server/v3"), nil
}

type pkiFiles struct {
	certDir, caFile, servingCert, servingKey, saKey, saPub, tokenFile string
	adminToken, limitedToken                                          string
}

func writePKI(dir string) (*pkiFiles, error) {
	p := &pkiFiles{
		certDir:     filepath.Join(dir, "certs"),
		caFile:      filepath.Join(dir, "ca.crt"),
		servingCert: filepath.Join(dir, "certs", "serving.crt"),
		servingKey:  filepath.Join(dir, "certs", "serving.key"),
		saKey:       filepath.Join(dir, "sa.key"),
		saPub:       filepath.Join(dir, "sa.pub"),
		tokenFile:   filepath.Join(dir, "tokens.csv"),
	}
	if err := os.MkdirAll(p.certDir, 0o700); err != nil {
		return nil, err
	}

	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          randSerial(),
		Subject:               pkix.Name{CommonName: "kube-testenv-ca"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(7 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}

	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	srvTmpl := &x509.Certificate{
		SerialNumber: randSerial(),
		Subject:      pkix.Name{CommonName: "kube-apiserver"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(7 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
		DNSNames:     []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"},
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, caCert, &srvKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}

	saKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}

	if err := writePEM(p.caFile, "CERTIFICATE", caDER, 0o644); err != nil {
		return nil, err
	}
	if err := writePEM(p.servingCert, "CERTIFICATE", srvDER, 0o644); err != nil {
		return nil, err
	}
	if err := writeECKey(p.servingKey, srvKey); err != nil {
		return nil, err
	}
	if err := writeECKey(p.saKey, saKey); err != nil {
		return nil, err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	if err != nil {
		return nil, err
	}
	if err := writePEM(p.saPub, "PUBLIC KEY", pubDER, 0o644); err != nil {
		return nil, err
	}

	p.adminToken = randToken()
	p.limitedToken = randToken()
	// token,user,uid[,"group1,group2"]; system:authenticated is added by the apiserver.
	tokens := fmt.Sprintf("%s,%s,%s-uid,\"system:masters\"\n%s,%s,%s-uid\n",
		p.adminToken, adminUser, adminUser, p.limitedToken, limitedUser, limitedUser)
	if err := os.WriteFile(p.tokenFile, []byte(tokens), 0o600); err != nil {
		return nil, err
	}
	return p, nil
}

func writePEM(path, typ string, der []byte, mode os.FileMode) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode)
}

func writeECKey(path string, k *ecdsa.PrivateKey) error {
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		return err
	}
	return writePEM(path, "EC PRIVATE KEY", der, 0o600)
}

func randSerial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		panic(err)
	}
	return n
}

func randToken() string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

func waitReady(ctx context.Context, server, caFile, token string, timeout time.Duration) error {
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	client := &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}},
	}
	defer client.CloseIdleConnections()
	deadline := time.Now().Add(timeout)
	last := "no answer yet"
	for time.Now().Before(deadline) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, server+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Sprintf("HTTP %d: %s", resp.StatusCode, body)
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	return fmt.Errorf("/readyz not OK after %s: %s", timeout, last)
}
