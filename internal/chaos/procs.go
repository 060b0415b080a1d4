package chaos

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// postgres is a private PostgreSQL cluster in a temporary directory, so the
// chaos run can restart it without touching a server others use.
type postgres struct {
	bin, data, log string
	port           int
	asUser         []string // runuser prefix when running as root (initdb refuses root)
}

// newPostgres initialises a cluster listening on 127.0.0.1:port.
func newPostgres(ctx context.Context, dir string, port int) (*postgres, error) {
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		if p, err := exec.LookPath("initdb"); err == nil {
			bins = []string{p}
		} else {
			return nil, errors.New("postgres: no initdb in /usr/lib/postgresql/*/bin or on PATH")
		}
	}
	sort.Slice(bins, func(i, j int) bool { return version(bins[i]) < version(bins[j]) })
	pg := &postgres{bin: filepath.Dir(bins[len(bins)-1]), data: filepath.Join(dir, "pgdata"), log: filepath.Join(dir, "postgres.log"), port: port}
	if err := os.MkdirAll(pg.data, 0o700); err != nil {
		return nil, err
	}
	if os.Getuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("postgres: running as root needs the postgres user for initdb: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		for _, p := range []string{dir, pg.data} {
			if err := os.Chown(p, uid, gid); err != nil {
				return nil, err
			}
		}
		pg.asUser = []string{"runuser", "-u", "postgres", "--"}
	}
	if err := pg.run(ctx, "initdb", "-D", pg.data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"); err != nil {
		return nil, err
	}
	return pg, pg.ctl(ctx, "start")
}

func version(initdb string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(initdb))))
	return v
}

func (pg *postgres) run(ctx context.Context, name string, args ...string) error {
	argv := append(append(append([]string{}, pg.asUser...), filepath.Join(pg.bin, name)), args...)
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("postgres: %s: %w: %s", name, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// ctl runs pg_ctl start, stop or restart. A restart is "immediate": the
// server stops like a crash and recovers from its WAL.
func (pg *postgres) ctl(ctx context.Context, action string) error {
	args := []string{action, "-D", pg.data, "-w", "-t", "60"}
	switch action {
	case "start", "restart":
		args = append(args, "-l", pg.log, "-o",
			fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c max_connections=200", pg.port, pg.data))
	}
	if action == "restart" {
		args = append(args, "-m", "immediate")
	}
	if action == "stop" {
		args = append(args, "-m", "fast")
	}
	return pg.run(ctx, "pg_ctl", args...)
}

// URL is the connection URL of database db on the cluster.
func (pg *postgres) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", pg.port, db)
}

// devServer is the Temporal dev server on a SQLite file, started by
// scripts/devserver.sh, so a restart finds every workflow where it was.
type devServer struct {
	root, db, log string
	port          int
	pid           int
}

func (d *devServer) start(ctx context.Context) error {
	cmd := exec.CommandContext(ctx, filepath.Join(d.root, "scripts/devserver.sh"), strconv.Itoa(d.port), "0", d.db)
	cmd.Dir = d.root
	cmd.Env = append(os.Environ(), "DEVSERVER_LOG="+d.log, "UI_CODEC_ENDPOINT=")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("devserver.sh: %w", err)
	}
	d.pid, err = strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		return fmt.Errorf("devserver.sh printed %q, not a pid", out)
	}
	return nil
}

// stop ends the dev server (SIGTERM, SIGKILL after 15 s) and waits for it.
func (d *devServer) stop() {
	if d.pid == 0 {
		return
	}
	stopPID(d.pid, 15*time.Second)
	d.pid = 0
}

// stopPID sends SIGTERM to pid, SIGKILL after grace, and waits until the
// process is gone (or a zombie: it is not our child to reap).
func stopPID(pid int, grace time.Duration) {
	_ = syscall.Kill(pid, syscall.SIGTERM)
	deadline := time.Now().Add(grace)
	for alive(pid) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			deadline = time.Now().Add(time.Hour)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// The state follows the command name in parentheses.
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return true
}

// workerProc is the worker binary run as a child process, so that kill -9
// is real.
type workerProc struct {
	bin, log string
	env      []string
	cmd      *exec.Cmd
	done     chan struct{}
}

func (w *workerProc) start() error {
	f, err := os.OpenFile(w.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(w.bin)
	cmd.Env = append(os.Environ(), w.env...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		_ = f.Close()
		return fmt.Errorf("start worker: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); _ = f.Close(); close(done) }()
	w.cmd, w.done = cmd, done
	return nil
}

// kill9 kills the worker with SIGKILL and waits for it to be gone.
func (w *workerProc) kill9() {
	if w.cmd == nil {
		return
	}
	_ = w.cmd.Process.Kill()
	<-w.done
	w.cmd = nil
}

// stop asks the worker to stop (SIGTERM), killing it after 40 s.
func (w *workerProc) stop() {
	if w.cmd == nil {
		return
	}
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-w.done:
	case <-time.After(40 * time.Second):
		_ = w.cmd.Process.Kill()
		<-w.done
	}
	w.cmd = nil
}

// exited reports whether the worker ended by itself.
func (w *workerProc) exited() bool {
	if w.cmd == nil {
		return false
	}
	select {
	case <-w.done:
		return true
	default:
		return false
	}
}
