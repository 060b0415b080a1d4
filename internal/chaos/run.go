package chaos

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"
	"go.temporal.io/sdk/client"

	"dunning/api"
	"dunning/channels/fcm"
	"dunning/internal/demo"
	"dunning/policy"
	"dunning/store"
	"dunning/workflows"
)

// Config sizes and places one chaos run.
type Config struct {
	// Root is the repository (scripts/devserver.sh, .bin/worker).
	Root string
	// Dir holds the run's state and logs; it is emptied first.
	Dir string
	// Loans is the number of loans in the burst; each sends 1 to 3 notices.
	Loans int
	// TemporalPort and PostgresPort are the private servers' ports.
	TemporalPort, PostgresPort int
	// RefuseRate and HangRate are the provider's faults.
	RefuseRate, HangRate float64
	// Seed fixes the provider's faults.
	Seed uint64
	// Settle bounds the wait, after the last fault, for every notice to be final.
	Settle time.Duration
	// Log receives progress lines.
	Log io.Writer
}

// Result is what a run found.
type Result struct {
	Notices NoticeReport
	// Loans checked, and those whose balance or ledger disagreed.
	Loans, LoansMismatched int
	Repayments             int
	LoanProblems           []string
	Calls                  map[Fault]int
	Faults                 []string
	Burst, Total           time.Duration
}

// Line is the summary line `make chaos` prints last.
func (r Result) Line() string {
	return fmt.Sprintf("duplicates=%d lost=%d mismatched=%d", r.Notices.Duplicates, r.Notices.Lost,
		r.Notices.Mismatched+r.LoansMismatched)
}

// OK reports whether nothing was lost, doubled or mismatched.
func (r Result) OK() bool {
	return r.Notices.Duplicates == 0 && r.Notices.Lost == 0 && r.Notices.Mismatched == 0 && r.LoansMismatched == 0
}

// run is the state of one chaos run.
type run struct {
	cfg    Config
	log    func(format string, args ...any)
	pg     *postgres
	dev    *devServer
	worker *workerProc
	mock   *Mock
	db     *pgxpool.Pool
	c      client.Client
	pol    policy.Policy
	start  time.Time

	loans   []policy.Loan
	mu      sync.Mutex
	planned []string
	reps    map[string][]policy.Repayment
	started atomic.Int64
}

// Run runs the chaos test: servers up, burst with faults, settle, check. It
// stops everything it started before it returns.
func Run(ctx context.Context, cfg Config) (res Result, err error) {
	r := &run{cfg: cfg, pol: policy.Default(), reps: map[string][]policy.Repayment{}, start: time.Now()}
	r.log = func(format string, args ...any) {
		fmt.Fprintf(cfg.Log, "chaos %6.1fs  %s\n", time.Since(r.start).Seconds(), fmt.Sprintf(format, args...))
	}
	defer r.cleanup()
	if err := r.setup(ctx); err != nil {
		return res, err
	}
	return r.burst(ctx)
}

func (r *run) setup(ctx context.Context) error {
	if err := os.RemoveAll(r.cfg.Dir); err != nil {
		return err
	}
	if err := os.MkdirAll(r.cfg.Dir, 0o755); err != nil {
		return err
	}
	pgDir, err := os.MkdirTemp("", "dunning-chaos-pg-")
	if err != nil {
		return err
	}
	r.pg = &postgres{data: pgDir} // removed by cleanup even if init fails
	pg, err := newPostgres(ctx, pgDir, r.cfg.PostgresPort)
	if err != nil {
		return err
	}
	r.pg = pg
	r.log("PostgreSQL %s on 127.0.0.1:%d (data in %s)", filepath.Base(filepath.Dir(pg.bin)), pg.port, pgDir)
	dbURL := pg.URL("dunning")
	if err := store.EnsureDatabase(ctx, dbURL); err != nil {
		return err
	}
	if err := store.Migrate(ctx, dbURL); err != nil {
		return err
	}
	if r.db, err = pgxpool.New(ctx, dbURL); err != nil {
		return err
	}

	r.dev = &devServer{root: r.cfg.Root, db: filepath.Join(r.cfg.Dir, "temporal.db"),
		log: filepath.Join(r.cfg.Dir, "temporal.log"), port: r.cfg.TemporalPort}
	if err := r.dev.start(ctx); err != nil {
		return err
	}
	r.log("Temporal dev server on 127.0.0.1:%d, state in %s", r.dev.port, r.dev.db)

	r.mock = NewMock(r.cfg.RefuseRate, r.cfg.HangRate, r.cfg.Seed)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: r.mock.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	context.AfterFunc(ctx, func() { _ = srv.Close() })
	mockURL := "http://" + ln.Addr().String()
	keyFile := filepath.Join(r.cfg.Dir, "fcm-key.json")
	if err := writeServiceAccount(keyFile, mockURL+"/token"); err != nil {
		return err
	}
	r.log("mock provider (Twilio + FCM) on %s: %.0f%% answered 500, %.0f%% taken and never answered",
		mockURL, 100*r.cfg.RefuseRate, 100*r.cfg.HangRate)

	r.worker = &workerProc{bin: filepath.Join(r.cfg.Root, ".bin/worker"), log: filepath.Join(r.cfg.Dir, "worker.log"), env: []string{
		fmt.Sprintf("TEMPORAL_ADDRESS=127.0.0.1:%d", r.cfg.TemporalPort), "TEMPORAL_NAMESPACE=default",
		"DATABASE_URL=" + dbURL, "DUNNING_PLAINTEXT_PAYLOADS=1", "DUNNING_ENCRYPTION_KEYS=", "METRICS_ADDR=off",
		"LOG_LEVEL=warn",
		"SMS_PROVIDER=twilio", "TWILIO_ACCOUNT_SID=AC" + strings.Repeat("0", 32), "TWILIO_AUTH_TOKEN=chaos",
		"TWILIO_FROM=+15005550006", "TWILIO_API_URL=" + mockURL, "PUBLIC_BASE_URL=" + mockURL,
		"PUSH_PROVIDER=fcm", "FCM_CREDENTIALS_FILE=" + keyFile, "FCM_API_URL=" + mockURL + "/",
		"EMAIL_PROVIDER=dev", "SMS_RATE=200", "PUSH_RATE=200",
	}}
	if err := r.worker.start(); err != nil {
		return err
	}
	r.c, err = client.DialContext(ctx, client.Options{HostPort: fmt.Sprintf("127.0.0.1:%d", r.cfg.TemporalPort),
		Namespace: "default", Logger: quietLogger{}})
	return err
}

func (r *run) cleanup() {
	if r.c != nil {
		r.c.Close()
	}
	if r.worker != nil {
		r.worker.stop()
	}
	if r.dev != nil {
		r.dev.stop()
	}
	if r.db != nil {
		r.db.Close()
	}
	if r.pg != nil && r.pg.bin != "" {
		_ = r.pg.ctl(context.Background(), "stop")
	}
	if r.pg != nil && r.pg.data != "" {
		_ = os.RemoveAll(filepath.Dir(r.pg.data))
		_ = os.RemoveAll(r.pg.data)
	}
}

// loan i of the burst: overdue (or due) so that its catch-up point fires at
// once, for a customer in a zone where it is daytime, reachable by SMS and
// push: the rung of its days past due sends 1 or 2 of them (-3: push, +1:
// SMS, 0 and +3: both, +7 to +30: both, and email is skipped no_address, as
// the mock provider speaks Twilio and FCM only).
func loanOf(i int, today policy.Date, tz string) policy.Loan {
	dpds := []int{-3, 0, 1, 3, 7, 15, 30}
	l := demo.Loan(i, dpds[i%len(dpds)], 2, fmt.Sprintf("%d.00", 500+(i%10)*100), today, tz)
	l.LoanID = fmt.Sprintf("L-CHAOS-%04d", i)
	l.Customer.ID = fmt.Sprintf("C-CHAOS-%04d", i)
	l.Customer.Phone = fmt.Sprintf("+86139%08d", i)
	l.Customer.PushToken = fmt.Sprintf("chaos-push-token-%04d", i)
	l.Customer.Email = ""
	return l
}

// plan is the keys of the notices the catch-up point of l sends or skips now.
func (r *run) plan(l policy.Loan, now time.Time) ([]string, error) {
	loc, err := time.LoadLocation(l.Customer.TimeZone)
	if err != nil {
		return nil, err
	}
	s, err := policy.SnapshotAt(l, r.pol, policy.History{}, now)
	if err != nil {
		return nil, err
	}
	pt, ok := policy.NextPoint(l, r.pol, loc, s, nil, now)
	if !ok || pt.At.After(now.Add(time.Minute)) {
		return nil, fmt.Errorf("loan %s has no point due now (next %v)", l.LoanID, pt.At)
	}
	var keys []string
	for _, ch := range pt.Channels {
		keys = append(keys, policy.NoticeKey(l.LoanID, pt.ScheduleVersion, pt.Seq, pt.Offset, ch))
	}
	for _, sk := range pt.Skipped {
		keys = append(keys, policy.NoticeKey(l.LoanID, pt.ScheduleVersion, pt.Seq, pt.Offset, sk.Channel))
	}
	return keys, nil
}

func (r *run) burst(ctx context.Context) (Result, error) {
	now := time.Now()
	tz := demo.DaytimeZone(now)
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return Result{}, err
	}
	today := policy.LocalDate(now, loc)
	for i := 1; i <= r.cfg.Loans; i++ {
		l := loanOf(i, today, tz)
		if err := policy.ValidateLoan(l, nil, nil); err != nil {
			return Result{}, fmt.Errorf("loan %s: %w", l.LoanID, err)
		}
		keys, err := r.plan(l, now)
		if err != nil {
			return Result{}, err
		}
		r.loans = append(r.loans, l)
		r.planned = append(r.planned, keys...)
	}
	r.log("%d loans in %s planning %d notices (each loan's catch-up point)", len(r.loans), tz, len(r.planned))

	// Start the loans, 8 at a time, each retried through the faults.
	burstStart := time.Now()
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range 8 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(r.loans) {
					return
				}
				r.retry(ctx, "start "+r.loans[i].LoanID, func(ctx context.Context) error {
					_, err := api.StartLoan(ctx, r.c, r.loans[i], r.pol, "")
					return err
				})
				r.started.Add(1)
			}
		})
	}

	var faults []string
	faultsDone := make(chan struct{})
	go func() {
		defer close(faultsDone)
		faults = r.faults(ctx)
	}()
	repsDone := make(chan int)
	go func() { repsDone <- r.repayments(ctx) }()

	wg.Wait()
	r.log("all %d loans started", len(r.loans))
	nReps := <-repsDone
	<-faultsDone
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}

	// Settle: every planned notice final, every ledger caught up.
	res := Result{Faults: faults, Repayments: nReps, Loans: len(r.loans)}
	deadline := time.Now().Add(r.cfg.Settle)
	for {
		rep, err := r.checkNotices(ctx)
		if err == nil && rep.Lost == 0 {
			res.Notices = rep
			break
		}
		if time.Now().After(deadline) {
			res.Notices = rep
			r.log("not settled after %s", r.cfg.Settle)
			break
		}
		if r.worker.exited() {
			r.log("the worker exited by itself; see %s", r.worker.log)
			_ = r.worker.start()
		}
		time.Sleep(2 * time.Second)
	}
	res.Burst = time.Since(burstStart)
	r.log("notices settled after %.1fs", res.Burst.Seconds())
	for {
		res.LoansMismatched, res.LoanProblems = r.checkLoans(ctx)
		if res.LoansMismatched == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(3 * time.Second)
	}
	// The final notice check, after the loans: nothing moved meanwhile.
	if rep, err := r.checkNotices(ctx); err == nil {
		res.Notices = rep
	}
	res.Calls = r.mock.Calls()
	res.Total = time.Since(r.start)
	return res, nil
}

// retry runs f until it succeeds or ctx ends, logging the first failure.
func (r *run) retry(ctx context.Context, what string, f func(context.Context) error) {
	for n := 0; ctx.Err() == nil; n++ {
		cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		err := f(cctx)
		cancel()
		if err == nil {
			return
		}
		if n == 0 {
			r.log("%s: %v (retrying)", what, firstLine(err))
		}
		time.Sleep(time.Second)
	}
}

func firstLine(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return s
}

// progress is the share of planned notices that have a final row.
func (r *run) progress(ctx context.Context) float64 {
	var n int
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := r.db.QueryRow(cctx, `SELECT count(*) FROM notices WHERE status <> 'pending'`).Scan(&n); err != nil {
		return -1
	}
	return float64(n) / float64(len(r.planned))
}

// faults kills the worker twice and restarts the dev server and PostgreSQL,
// each when a share of the burst's notices is final, and says when.
func (r *run) faults(ctx context.Context) []string {
	steps := []struct {
		at   float64
		name string
		do   func() error
	}{
		{0.10, "kill -9 worker", func() error {
			r.worker.kill9()
			time.Sleep(2 * time.Second)
			return r.worker.start()
		}},
		{0.30, "restart Temporal dev server", func() error {
			r.dev.stop()
			return r.dev.start(ctx)
		}},
		{0.50, "restart PostgreSQL (immediate)", func() error { return r.pg.ctl(ctx, "restart") }},
		{0.70, "kill -9 worker", func() error {
			r.worker.kill9()
			time.Sleep(2 * time.Second)
			return r.worker.start()
		}},
	}
	var out []string
	for _, s := range steps {
		p := 0.0
		for ctx.Err() == nil {
			if p = r.progress(ctx); p >= s.at {
				break
			}
			time.Sleep(300 * time.Millisecond)
		}
		t0 := time.Now()
		err := s.do()
		line := fmt.Sprintf("%s at %.0f%% of the notices final (t=%.1fs, took %.1fs)", s.name, 100*p,
			time.Since(r.start).Seconds(), time.Since(t0).Seconds())
		if err != nil {
			line += ": " + err.Error()
		}
		r.log("%s", line)
		out = append(out, line)
	}
	return out
}

// repayments repays every tenth loan a little during the faults (not
// enough to pay an installment off) and plans its confirmations.
func (r *run) repayments(ctx context.Context) int {
	for ctx.Err() == nil && r.progress(ctx) < 0.15 {
		time.Sleep(300 * time.Millisecond)
	}
	n := 0
	for i := 9; i < len(r.loans) && ctx.Err() == nil; i += 10 {
		for int(r.started.Load()) <= i && ctx.Err() == nil {
			time.Sleep(200 * time.Millisecond)
		}
		l := r.loans[i]
		rp := policy.Repayment{TxnID: "CHAOS-" + l.LoanID, Amount: decimal.New(int64(1000+i), -2),
			PaidAt: time.Now().UTC().Truncate(time.Second), Currency: l.Currency}
		r.retry(ctx, "repay "+l.LoanID, func(ctx context.Context) error {
			h, err := r.c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: workflows.WorkflowID(l.LoanID),
				UpdateName: workflows.UpdateRepay, Args: []any{rp}, WaitForStage: client.WorkflowUpdateStageCompleted})
			if err != nil {
				return err
			}
			var s policy.Snapshot
			return h.Get(ctx, &s)
		})
		r.mu.Lock()
		r.reps[l.LoanID] = append(r.reps[l.LoanID], rp)
		for _, ch := range []policy.Channel{policy.SMS, policy.Push} {
			if l.Customer.CanUse(ch) {
				r.planned = append(r.planned, policy.ConfirmationKey(l.LoanID, rp.TxnID, policy.TemplatePaymentReceived, ch))
			}
		}
		r.mu.Unlock()
		n++
		time.Sleep(500 * time.Millisecond)
	}
	r.log("%d repayments applied", n)
	return n
}

// checkNotices reads every notices row and the mock's messages and compares
// them with the plan.
func (r *run) checkNotices(ctx context.Context) (NoticeReport, error) {
	rowsQ, err := r.db.Query(ctx, `SELECT idempotency_key, status, COALESCE(provider, ''), COALESCE(provider_message_id, '') FROM notices`)
	if err != nil {
		return NoticeReport{Lost: -1}, err
	}
	var rows []Row
	for rowsQ.Next() {
		var x Row
		if err := rowsQ.Scan(&x.Key, &x.Status, &x.Provider, &x.MessageID); err != nil {
			rowsQ.Close()
			return NoticeReport{Lost: -1}, err
		}
		rows = append(rows, x)
	}
	if err := rowsQ.Err(); err != nil {
		return NoticeReport{Lost: -1}, err
	}
	r.mu.Lock()
	planned := append([]string(nil), r.planned...)
	r.mu.Unlock()
	byTag := map[string]string{}
	for _, k := range planned {
		byTag[fcm.Tag(k)] = k
	}
	for _, x := range rows {
		byTag[fcm.Tag(x.Key)] = x.Key
	}
	var taken []Message
	for _, a := range r.mock.Accepted() {
		m := Message{Key: a.Ref, Provider: a.Provider, MessageID: a.MessageID}
		if a.Provider == "fcm" {
			m.Key = byTag[a.Ref]
		}
		taken = append(taken, m)
	}
	return CheckNotices(planned, rows, taken), nil
}

// checkLoans compares each loan's status with a fresh policy snapshot and
// its ledger; it returns how many loans disagree and the first problems.
func (r *run) checkLoans(ctx context.Context) (int, []string) {
	asOf := time.Now().UTC()
	ledgers := map[string][]LedgerRow{}
	q, err := r.db.Query(ctx, `SELECT loan_id, kind, COALESCE(amount, 0)::text FROM ledger`)
	if err != nil {
		return len(r.loans), []string{"read ledger: " + err.Error()}
	}
	for q.Next() {
		var id, kind, amt string
		if err := q.Scan(&id, &kind, &amt); err != nil {
			q.Close()
			return len(r.loans), []string{"read ledger: " + err.Error()}
		}
		ledgers[id] = append(ledgers[id], LedgerRow{Kind: kind, Amount: decimal.RequireFromString(amt)})
	}
	q.Close()
	bad := 0
	var problems []string
	for _, l := range r.loans {
		var got policy.Snapshot
		v, err := r.c.QueryWorkflow(ctx, workflows.WorkflowID(l.LoanID), "", workflows.QueryStatus, &asOf)
		if err == nil {
			err = v.Get(&got)
		}
		var ps []string
		if err != nil {
			ps = []string{"status query: " + firstLine(err)}
		} else {
			r.mu.Lock()
			reps := r.reps[l.LoanID]
			r.mu.Unlock()
			ps = CheckLoan(l, r.pol, reps, asOf, got, ledgers[l.LoanID])
		}
		if len(ps) > 0 {
			bad++
			if len(problems) < maxProblems {
				problems = append(problems, l.LoanID+": "+strings.Join(ps, "; "))
			}
		}
	}
	return bad, problems
}

// writeServiceAccount writes a service account key for the FCM adapter whose
// token endpoint is the mock's.
func writeServiceAccount(path, tokenURI string) error {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return err
	}
	b, err := json.Marshal(map[string]any{
		"type": "service_account", "project_id": "dunning-chaos", "private_key_id": "0123456789abcdef",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": "chaos@dunning-chaos.iam.gserviceaccount.com", "client_id": "100000000000000000001",
		"token_uri": tokenURI,
	})
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

// quietLogger drops the SDK client's log lines (it retries through the
// faults and would say so for every call).
type quietLogger struct{}

func (quietLogger) Debug(string, ...any) {}
func (quietLogger) Info(string, ...any)  {}
func (quietLogger) Warn(string, ...any)  {}
func (quietLogger) Error(string, ...any) {}
