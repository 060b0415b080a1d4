// Command starter is the lending system's entry point to dunning: it starts
// loans (one, or a file of them), reports repayments, reads and steers loans,
// exports a loan's audit timeline, and serves the HTTP API.
//
//	go run ./starter start -f loan.json
//	go run ./starter import -f loans.jsonl [-concurrency 8]
//	go run ./starter repay L-2026-0001 -txn T-1 -amount 100.00
//	go run ./starter serve -addr :8080
//
// Configuration comes from the environment: TEMPORAL_ADDRESS,
// TEMPORAL_NAMESPACE and the other TEMPORAL_* settings of the Temporal
// environment configuration (see internal/temporalutil), DATABASE_URL for
// the audit store, API_TOKEN, LOG_LEVEL and LOG_FORMAT for serve. Run it with
// no arguments for help.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // validation loads IANA zones; do not depend on the host's zoneinfo

	"dunning/api"
	"dunning/internal/config"
	"dunning/internal/logmask"
)

// Exit codes.
const (
	exitOK    = 0
	exitFail  = 1 // the command failed, or rejected some input
	exitUsage = 2 // the command line is wrong
)

// cli is one run of the command: its streams and environment, so tests can
// run commands without a process.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	// stderrIsTerminal makes import redraw its progress line often.
	stderrIsTerminal bool
	// temporal connects to Temporal for a command; nil dials it from the
	// environment (tests give a fake).
	temporal func(ctx context.Context) (api.Temporal, func(), error)
}

// usageError is a wrong command line; it exits 2 after the usage text.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// errReported means the command has already told the user what went wrong
// (a list of rejections); it only sets the exit code.
var errReported = errors.New("reported")

const usage = `usage: starter <command> [arguments]

commands:
  start -f loan.json|-                 validate one loan and start its workflow
  import -f loans.jsonl|loans.csv|- [-format jsonl|csv] [-concurrency 8]
                                       validate and start many loans; CSV has one row per
                                       installment with the header
                                       loan_id,currency,policy,customer_id,name,phone,email,
                                       push_token,locale,time_zone,seq,due_date,principal,
                                       interest,fee (rows of one loan together)
  repay <loan_id> -txn T -amount 100.00 [-paid-at RFC3339] [-currency CNY]
                                       report a repayment; prints the balance after it
  status <loan_id>                     print the loan's balance snapshot
  pause <loan_id> -reason R [-actor A] [-until RFC3339]
  resume <loan_id> -reason R [-actor A]
  close <loan_id> -reason R [-actor A] end the loan's dunning for good
                                       operator actions: -actor (who: an operator id or work
                                       email; default $DUNNING_ACTOR, else $USER) and -reason
                                       (why) are required and kept in the ledger
  audit <loan_id> [-format json|csv]   the loan's ledger, notices and workflow history in time
                                       order (DATABASE_URL; Temporal for the history part)
  serve [-addr :8080] [-timeout 15s]   the HTTP API (see api/doc.go for its routes)
  migrate [-timeout 5m]                create the audit database if missing and apply its
                                       migrations, then exit (before a deployment's rollout)
  replay [-query Q | -closed 168h] [-limit 100] [-out DIR]
  replay -dir DIR                      replay running loans' histories (downloaded, or saved
                                       by -out) against this build's workflow code: OK or
                                       FAIL per history, exit 1 if any fails
  preview -f loan.json [-policy NAME | -policy-file F.yaml] [-pay DATE:AMOUNT ...]
          [-format table|json|html] [-o FILE]
                                       run the real loan workflow in a time-skipping test
                                       environment to payoff or charge-off: every point with
                                       its messages and balance; nothing is sent (no server)
  simulate -book loans.jsonl -policy A [-policy B ...] [-pay-model on-time=0.7,late-7=0.2,never=0.1]
          [-seed N] [-sms-price 0.05] [-workers N] [-format text|json]
                                       preview a whole book under each policy and compare:
                                       notices, SMS cost, contacts per borrower, fees, charge-offs
  simulate -generate N [-installments 12] [-first-due 2027-01-01] [-seed N]
                                       write a generated book of N loans (JSON Lines)

environment:
  TEMPORAL_ADDRESS (default 127.0.0.1:7233), TEMPORAL_NAMESPACE (default "default"),
  TEMPORAL_API_KEY, TEMPORAL_TLS_*, TEMPORAL_PROFILE, TEMPORAL_CONFIG_FILE
                 Temporal connection (Temporal environment configuration)
  DUNNING_ENCRYPTION_KEYS
                 payload keys (id:base64key,…): the cluster's, to read and replay its loans
  DUNNING_ACTOR  pause, resume, close: the operator, when -actor is not given
  DATABASE_URL   audit store for audit and serve
                 (default ` + config.DefaultDatabaseURL + `)
  API_TOKEN      serve: when set, every /v1 call needs "Authorization: Bearer <token>"
  LOG_LEVEL      serve: debug|info|warn|error (default info)
  LOG_FORMAT     serve: json for JSON log lines, text otherwise
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	c := &cli{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	if fi, err := os.Stderr.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
		c.stderrIsTerminal = true
	}
	code := c.run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

// run runs the command in args and returns the exit code.
func (c *cli) run(ctx context.Context, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(c.stderr, usage)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	commands := map[string]func(context.Context, []string) error{
		"start":    c.cmdStart,
		"import":   c.cmdImport,
		"repay":    c.cmdRepay,
		"status":   c.cmdStatus,
		"pause":    c.cmdPause,
		"resume":   c.cmdResume,
		"close":    c.cmdClose,
		"audit":    c.cmdAudit,
		"serve":    c.cmdServe,
		"migrate":  c.cmdMigrate,
		"replay":   c.cmdReplay,
		"preview":  c.cmdPreview,
		"simulate": c.cmdSimulate,
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(c.stderr, "starter: unknown command %q\n\n%s", args[0], usage)
		return exitUsage
	}
	err := cmd(ctx, args[1:])
	var ue usageError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errReported):
		return exitFail
	case errors.As(err, &ue):
		fmt.Fprintf(c.stderr, "starter %s: %s\n\n%s", args[0], ue.msg, usage)
		return exitUsage
	}
	fmt.Fprintf(c.stderr, "starter %s: %v\n", args[0], err)
	return exitFail
}

// sdkLogger is the Temporal SDK's logger: warnings and errors only, so CLI
// output stays readable.
func (c *cli) sdkLogger() *slog.Logger {
	return logmask.Logger(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// databaseURL is DATABASE_URL or the dev default.
func (c *cli) databaseURL() string {
	if u := c.getenv("DATABASE_URL"); u != "" {
		return u
	}
	return config.DefaultDatabaseURL
}
