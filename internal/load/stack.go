package load

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// proc is a process the driver started and stops.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan error
}

func startProc(name, logPath string, env []string, bin string, args ...string) (*proc, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait(); f.Close() }()
	return p, nil
}

// stop sends SIGTERM, waits up to 40 s, then kills.
func (p *proc) stop() {
	if p == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(40 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// rssMB is the resident set size of pid in MiB, from /proc.
func rssMB(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	return parseVmRSS(string(b))
}

// parseVmRSS reads the VmRSS line of /proc/<pid>/status, in MiB.
func parseVmRSS(status string) (float64, error) {
	for line := range strings.SplitSeq(status, "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) != 2 || f[1] != "kB" {
				return 0, fmt.Errorf("VmRSS line %q", line)
			}
			kb, err := strconv.ParseFloat(f[0], 64)
			if err != nil {
				return 0, fmt.Errorf("VmRSS line %q: %w", line, err)
			}
			return kb / 1024, nil
		}
	}
	return 0, errors.New("no VmRSS line")
}

// stack is the dunning system the driver runs against.
type stack struct {
	cfg       Config
	env       []string
	devserver int // pid printed by scripts/devserver.sh; 0 with -temporal
	api       *proc
	worker    *proc
	dbURL     string
}

func newKey() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return "load-" + time.Now().UTC().Format("20060102") + ":" + base64.StdEncoding.EncodeToString(b)
}

// temporalAddress is the server the stack talks to: -temporal, or the dev
// server the driver starts.
func (c Config) temporalAddress() string {
	if c.TemporalAddr != "" {
		return c.TemporalAddr
	}
	return "127.0.0.1:" + strconv.Itoa(c.TemporalPort)
}

// startStack starts the dev server (fresh SQLite file) unless -temporal names
// a server, a fresh database and the API; the worker is started by the
// phases.
func startStack(ctx context.Context, cfg Config, logf func(string, ...any)) (*stack, error) {
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, err
	}
	dbFile := filepath.Join(cfg.Dir, "temporal.db")
	s := &stack{cfg: cfg}
	s.dbURL = strings.Replace(cfg.AdminURL, "/postgres?", "/"+cfg.Database+"?", 1)
	if s.dbURL == cfg.AdminURL {
		return nil, fmt.Errorf("admin url %q: want a URL of the database postgres with a query", cfg.AdminURL)
	}
	if err := recreateDB(ctx, cfg.AdminURL, cfg.Database); err != nil {
		return nil, err
	}
	s.env = append(os.Environ(),
		"TEMPORAL_ADDRESS="+cfg.temporalAddress(),
		"DATABASE_URL="+s.dbURL,
		"DUNNING_ENCRYPTION_KEYS="+newKey(),
		"SMS_PROVIDER=dev", "EMAIL_PROVIDER=dev", "PUSH_PROVIDER=dev",
		// The channel rates are the provider's limits, not the design's:
		// lifted so that the burst measures dunning and Temporal.
		"SMS_RATE=10000", "EMAIL_RATE=10000", "PUSH_RATE=10000",
		"METRICS_ADDR="+cfg.MetricsAddr, "WORKER_PPROF=1", "LOG_FORMAT=json",
		"DEVSERVER_LOG="+filepath.Join(cfg.Dir, "temporal.log"),
	)
	if cfg.TemporalAddr != "" {
		logf("Temporal server on %s (started outside the driver)", cfg.TemporalAddr)
	} else {
		for _, f := range []string{dbFile, dbFile + "-wal", dbFile + "-shm"} {
			_ = os.Remove(f)
		}
		logf("dev server on 127.0.0.1:%d, state in %s", cfg.TemporalPort, dbFile)
		cmd := exec.CommandContext(ctx, "scripts/devserver.sh", strconv.Itoa(cfg.TemporalPort), "0", dbFile)
		cmd.Env = s.env
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			return nil, fmt.Errorf("scripts/devserver.sh: %w", err)
		}
		if s.devserver, err = strconv.Atoi(strings.TrimSpace(string(out))); err != nil {
			return nil, fmt.Errorf("scripts/devserver.sh printed %q, not a pid", out)
		}
	}
	var err error
	s.api, err = startProc("api", filepath.Join(cfg.Dir, "api.log"), s.env, filepath.Join(cfg.Bin, "starter"), "serve", "-addr", cfg.APIAddr)
	if err != nil {
		s.stop()
		return nil, err
	}
	if err := waitHTTP(ctx, "http://"+cfg.APIAddr+"/healthz", time.Minute); err != nil {
		s.stop()
		return nil, fmt.Errorf("api: %w (log: %s)", err, filepath.Join(cfg.Dir, "api.log"))
	}
	return s, nil
}

// startWorker starts the worker binary and waits until /readyz answers.
func (s *stack) startWorker(ctx context.Context, logName string) error {
	p, err := startProc("worker", filepath.Join(s.cfg.Dir, logName), s.env, filepath.Join(s.cfg.Bin, "worker"))
	if err != nil {
		return err
	}
	s.worker = p
	if err := waitHTTP(ctx, "http://"+s.cfg.MetricsAddr+"/readyz", 2*time.Minute); err != nil {
		return fmt.Errorf("worker: %w (log: %s)", err, filepath.Join(s.cfg.Dir, logName))
	}
	return nil
}

func (s *stack) stopWorker() {
	s.worker.stop()
	s.worker = nil
}

func (s *stack) stop() {
	s.worker.stop()
	s.api.stop()
	if s.devserver > 0 {
		if p, err := os.FindProcess(s.devserver); err == nil {
			_ = p.Signal(syscall.SIGTERM)
			for range 100 {
				if p.Signal(syscall.Signal(0)) != nil {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			_ = p.Kill()
		}
	}
}

func waitHTTP(ctx context.Context, url string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("%s: %s", url, resp.Status)
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("not ready after %s: %w", limit, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func recreateDB(ctx context.Context, adminURL, name string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	defer conn.Close(ctx)
	id := pgx.Identifier{name}.Sanitize()
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+id+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop %s: %w", name, err)
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+id); err != nil {
		return fmt.Errorf("create %s: %w", name, err)
	}
	return nil
}
