package workflows

// MaxRepayments bounds the repayments one loan takes over its life. Every
// repayment stays in the loan's state (the balance is replayed from them) and
// in its status answer, so an unbounded count would eventually push the
// state carried across continue-as-new, and the answers, towards Temporal's
// payload limits (2 MiB). 1,200 is two a month for a 50-year loan
// (policy.MaxInstallments); with that many installments the largest state and
// answer stay under 1 MiB (TestLargestLoanStaysFarBelowPayloadLimits). A
// repayment past it is refused with 422: a lender with such a loan settles
// it in its back office.
const MaxRepayments = 1200
