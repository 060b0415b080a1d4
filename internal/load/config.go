// Package load is the driver behind `make load` (issue 9): it starts a
// dunning stack of its own (a Temporal dev server on its own ports and a
// fresh SQLite file, or with -temporal a server started outside the driver,
// a fresh PostgreSQL database, the worker binary and the API), drives N loans through it and, on the same server in the same run,
// a baseline of bare workflows, and prints each figure beside its baseline,
// then one summary line. Speed is measured here and in benchmarks, never
// asserted in tests.
package load

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// Config is what one run measures and where it runs.
type Config struct {
	N             int           // loans (and bare workflows) per phase
	Clients       int           // concurrent HTTP and Temporal clients
	Repayments    int           // repayment requests per loan
	TemporalPort  int           // the dev server's gRPC port
	TemporalAddr  string        // host:port of a server started outside the driver; "" = start a dev server
	APIAddr       string        // where the API listens
	MetricsAddr   string        // the worker's METRICS_ADDR (pprof too, if enabled)
	Database      string        // PostgreSQL database, dropped and created afresh
	AdminURL      string        // PostgreSQL URL to drop and create Database through
	Dir           string        // state and logs (dev server file, worker and API logs)
	Bin           string        // directory holding the worker, starter and temporal binaries
	Quiet         time.Duration // no new notice row for this long ends the burst
	Timeout       time.Duration // bound on each phase
	HistorySample int           // loans whose histories are read
}

// DefaultConfig is a run that finishes in a few minutes on two cores.
func DefaultConfig() Config {
	return Config{
		N: 200, Clients: 32, Repayments: 10,
		TemporalPort: 7270, APIAddr: "127.0.0.1:8190", MetricsAddr: "127.0.0.1:9190",
		Database: "dunning_load", AdminURL: "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable",
		Dir: ".data/load", Bin: ".bin", Quiet: 10 * time.Second, Timeout: 20 * time.Minute, HistorySample: 50,
	}
}

// ParseFlags reads the command line into a Config, starting from
// DefaultConfig, and checks it.
func ParseFlags(args []string, stderr io.Writer) (Config, error) {
	c := DefaultConfig()
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&c.N, "n", c.N, "loans per phase (the issue's targets are at 2000)")
	fs.IntVar(&c.Clients, "c", c.Clients, "concurrent clients")
	fs.IntVar(&c.Repayments, "repayments", c.Repayments, "repayment requests per loan (repeats and invalid ones included)")
	fs.IntVar(&c.TemporalPort, "temporal-port", c.TemporalPort, "gRPC port of the dev server the driver starts")
	fs.StringVar(&c.TemporalAddr, "temporal", c.TemporalAddr, "host:port of a Temporal server to use instead of starting a dev server (fresh, namespace default, dunning's search attributes; make load TEMPORAL=postgres)")
	fs.StringVar(&c.APIAddr, "api", c.APIAddr, "address of the API the driver starts")
	fs.StringVar(&c.MetricsAddr, "metrics", c.MetricsAddr, "METRICS_ADDR of the worker the driver starts")
	fs.StringVar(&c.Database, "db", c.Database, "PostgreSQL database (dropped and created afresh)")
	fs.StringVar(&c.AdminURL, "admin-url", c.AdminURL, "PostgreSQL URL used to drop and create the database")
	fs.StringVar(&c.Dir, "dir", c.Dir, "directory for the dev server's file and the logs")
	fs.StringVar(&c.Bin, "bin", c.Bin, "directory of the worker, starter and temporal binaries")
	fs.DurationVar(&c.Quiet, "quiet", c.Quiet, "the burst ends when no notice row changed for this long")
	fs.DurationVar(&c.Timeout, "timeout", c.Timeout, "bound on each phase")
	fs.IntVar(&c.HistorySample, "history-sample", c.HistorySample, "loans whose histories are counted")
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("load: unexpected arguments %q", fs.Args())
	}
	var errs []error
	if c.N < 1 {
		errs = append(errs, fmt.Errorf("-n %d: want at least 1 loan", c.N))
	}
	if c.Clients < 1 {
		errs = append(errs, fmt.Errorf("-c %d: want at least 1 client", c.Clients))
	}
	if c.Repayments < 1 {
		errs = append(errs, fmt.Errorf("-repayments %d: want at least 1", c.Repayments))
	}
	if c.TemporalPort < 1 || c.TemporalPort > 65535 {
		errs = append(errs, fmt.Errorf("-temporal-port %d: not a port", c.TemporalPort))
	}
	if c.TemporalAddr != "" {
		if err := checkHostPort(c.TemporalAddr); err != nil {
			errs = append(errs, fmt.Errorf("-temporal %q: %w", c.TemporalAddr, err))
		}
		fs.Visit(func(f *flag.Flag) {
			if f.Name == "temporal-port" {
				errs = append(errs, errors.New("-temporal-port is the port of the dev server the driver starts; with -temporal it starts none"))
			}
		})
	}
	if c.Quiet <= 0 || c.Timeout <= 0 {
		errs = append(errs, errors.New("-quiet and -timeout must be positive"))
	}
	if c.Database == "" || c.Database == "dunning" || c.Database == "postgres" {
		errs = append(errs, fmt.Errorf("-db %q: the driver drops it, so it must be a database of its own", c.Database))
	}
	return c, errors.Join(errs...)
}

// checkHostPort accepts host:port with a host and a port in 1–65535.
func checkHostPort(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if host == "" {
		return errors.New("want host:port, the host is missing")
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return fmt.Errorf("port %q: not a port", port)
	}
	return nil
}
