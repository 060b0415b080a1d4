package policy

import (
	"github.com/shopspring/decimal"
)

// minorUnits maps an active ISO 4217 currency code to the number of decimal
// places of its minor unit. Fund codes (BOV, CLF, USN, …), precious metals and
// withdrawn currencies (HRK, SLL, ZWL, …) are left out on purpose: nobody
// lends in them, and a typo that happens to hit one should be rejected.
// The values are ISO's, not market practice: IDR and TWD are 2 even though
// prices there are quoted in whole units, so a lender may send "1500000.00".
var minorUnits = map[string]int32{
	// Zero decimal places.
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0,
	"KRW": 0, "PYG": 0, "RWF": 0, "UGX": 0, "VND": 0, "VUV": 0, "XAF": 0,
	"XOF": 0, "XPF": 0,

	// Three decimal places.
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,

	// Two decimal places.
	"AED": 2, "AFN": 2, "ALL": 2, "AMD": 2, "AOA": 2, "ARS": 2, "AUD": 2,
	"AWG": 2, "AZN": 2, "BAM": 2, "BBD": 2, "BDT": 2, "BGN": 2, "BMD": 2,
	"BND": 2, "BOB": 2, "BRL": 2, "BSD": 2, "BTN": 2, "BWP": 2, "BYN": 2,
	"BZD": 2, "CAD": 2, "CDF": 2, "CHF": 2, "CNY": 2, "COP": 2, "CRC": 2,
	"CUP": 2, "CVE": 2, "CZK": 2, "DKK": 2, "DOP": 2, "DZD": 2, "EGP": 2,
	"ERN": 2, "ETB": 2, "EUR": 2, "FJD": 2, "FKP": 2, "GBP": 2, "GEL": 2,
	"GHS": 2, "GIP": 2, "GMD": 2, "GTQ": 2, "GYD": 2, "HKD": 2, "HNL": 2,
	"HTG": 2, "HUF": 2, "IDR": 2, "ILS": 2, "INR": 2, "IRR": 2, "JMD": 2,
	"KES": 2, "KGS": 2, "KHR": 2, "KPW": 2, "KYD": 2, "KZT": 2, "LAK": 2,
	"LBP": 2, "LKR": 2, "LRD": 2, "LSL": 2, "MAD": 2, "MDL": 2, "MGA": 2,
	"MKD": 2, "MMK": 2, "MNT": 2, "MOP": 2, "MRU": 2, "MUR": 2, "MVR": 2,
	"MWK": 2, "MXN": 2, "MYR": 2, "MZN": 2, "NAD": 2, "NGN": 2, "NIO": 2,
	"NOK": 2, "NPR": 2, "NZD": 2, "PAB": 2, "PEN": 2, "PGK": 2, "PHP": 2,
	"PKR": 2, "PLN": 2, "QAR": 2, "RON": 2, "RSD": 2, "RUB": 2, "SAR": 2,
	"SBD": 2, "SCR": 2, "SDG": 2, "SEK": 2, "SGD": 2, "SHP": 2, "SLE": 2,
	"SOS": 2, "SRD": 2, "SSP": 2, "STN": 2, "SVC": 2, "SYP": 2, "SZL": 2,
	"THB": 2, "TJS": 2, "TMT": 2, "TOP": 2, "TRY": 2, "TTD": 2, "TWD": 2,
	"TZS": 2, "UAH": 2, "USD": 2, "UYU": 2, "UZS": 2, "VED": 2, "VES": 2,
	"WST": 2, "XCD": 2, "XCG": 2, "YER": 2, "ZAR": 2, "ZMW": 2, "ZWG": 2,
}

// MinorUnits reports how many decimal places the ISO 4217 currency code
// allows (2 for CNY, 0 for JPY, 3 for KWD), and false for a code dunning does
// not know. Codes are upper case, exactly as ISO writes them: "cny" is
// unknown, so a currency string is stored and shown in one spelling only.
func MinorUnits(code string) (int32, bool) {
	n, ok := minorUnits[code]
	return n, ok
}

// RoundMoney rounds d to places decimal places, half away from zero
// (2.345 → 2.35, −2.345 → −2.35): for the non-negative amounts dunning posts
// this is the round_half_up of DESIGN.md, and it never rounds a half cent to
// the even neighbour as banker's rounding would. The result always carries
// exactly places decimals, so it prints as a fixed-point amount ("20.00").
func RoundMoney(d decimal.Decimal, places int32) decimal.Decimal {
	// shopspring's Round adds ±0.5 unit of the last kept place and truncates
	// towards zero: half away from zero, and it rescales to exactly places.
	return d.Round(places)
}

// HasAtMostPlaces reports whether d can be written with no more than places
// decimals. Trailing zeros do not count: "100.00" has at most 0 places (a
// valid JPY amount), "100.5" does not.
func HasAtMostPlaces(d decimal.Decimal, places int32) bool {
	if d.Exponent() >= -places {
		return true
	}
	return d.Round(places).Equal(d)
}
