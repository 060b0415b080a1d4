package activities

import (
	"encoding/json"
	"fmt"

	"dunning/store"
)

func ledgerRow(e LedgerEntry) (store.LedgerEntry, error) {
	detail := json.RawMessage("{}")
	if e.Detail != nil {
		b, err := json.Marshal(e.Detail)
		if err != nil {
			return store.LedgerEntry{}, fmt.Errorf("ledger %s detail: %w", e.Kind, err)
		}
		detail = b
	}
	return store.LedgerEntry{LoanID: e.LoanID, Kind: e.Kind, Amount: e.Amount, Currency: e.Currency,
		Detail: detail, OccurredAt: e.OccurredAt, DedupeKey: e.DedupeKey}, nil
}
