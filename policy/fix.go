package policy

import (
	"cmp"
	"math"
	"math/bits"

	"github.com/shopspring/decimal"
)

// fix is a decimal held as decimal.Decimal holds one, coefficient × 10^exponent,
// with the coefficient in an int64 instead of a big.Int. Its operations give
// exactly decimal.Decimal's results, exponent included (a sum has the smaller
// exponent of its terms, a product the sum of theirs, Round and RoundFloor
// exactly -places), so a value computed in fix and turned back into a
// decimal.Decimal is the one decimal.Decimal would have computed: the same
// number written the same way ("20.00", not "20"). An operation whose result
// does not fit panics with fixOverflow, which SnapshotAt recovers to replay
// the loan with decimal.Decimal instead; nothing is ever rounded or wrapped.
//
// src, when above 0, is where a decimal.Decimal that holds exactly this
// value with exactly this exponent is kept (fixSources: the input the value
// was read from, carried along while operations return an operand
// unchanged): turning the fix back into a decimal returns it rather than
// allocating a new one. Operations that compute a new value leave it 0. An
// index rather than a pointer keeps fix, and everything the replay holds,
// free of pointers: nothing for the garbage collector to scan or the write
// barrier to record.
type fix struct {
	c   int64
	e   int32
	src int32
}

// fixOverflow is the panic value of a fix operation whose result does not
// fit in an int64 coefficient (or whose exponent does not fit in an int32,
// where decimal.Decimal itself panics).
type fixOverflow struct{}

// pow10 holds 10^0 … 10^18, every power of ten an int64 holds.
var pow10 = [...]int64{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18}

// fixExpRange bounds the exponents fixOf reads; a decimal outside it goes the
// decimal.Decimal way.
const fixExpRange = 40

// fixBounds are decimal.New(math.MaxInt64, e) and decimal.New(math.MinInt64, e)
// for every e in ±fixExpRange: fixOf compares with the one of the same
// exponent, which decimal.Decimal does without allocating.
var fixMax, fixMin = func() (hi, lo [2*fixExpRange + 1]decimal.Decimal) {
	for i := range hi {
		hi[i] = decimal.New(math.MaxInt64, int32(i-fixExpRange))
		lo[i] = decimal.New(math.MinInt64, int32(i-fixExpRange))
	}
	return hi, lo
}()

// fixZeros are decimal.New(0, e) for e in ±fixExpRange: a zero turned back
// into a decimal shares one of them (decimal.Decimal is immutable).
var fixZeros = func() (z [2*fixExpRange + 1]decimal.Decimal) {
	for i := range z {
		z[i] = decimal.New(0, int32(i-fixExpRange))
	}
	return z
}()

// fixRead reads d, its coefficient and exponent unchanged; false when the
// coefficient does not fit an int64 or the exponent is outside ±fixExpRange.
func fixRead(d decimal.Decimal) (fix, bool) {
	e := d.Exponent()
	if e < -fixExpRange || e > fixExpRange {
		return fix{}, false
	}
	i := e + fixExpRange
	if d.Cmp(fixMax[i]) > 0 || d.Cmp(fixMin[i]) < 0 {
		return fix{}, false
	}
	return fix{c: d.CoefficientInt64(), e: e}, true
}

// fixSources holds the decimals values were read from (index 0 is none)
// and the last few decimals dec made, to hand out again for the same value
// (a book's installments are often alike: their totals are one number).
type fixSources struct {
	d    []decimal.Decimal
	made [8]struct {
		c int64
		e int32
		d decimal.Decimal
	}
	next int
}

// read is fixRead with d kept as the value's source.
func (t *fixSources) read(d decimal.Decimal) (fix, bool) {
	f, ok := fixRead(d)
	if ok {
		if len(t.d) == 0 {
			t.d = append(t.d, decimal.Decimal{})
		}
		f.src = int32(len(t.d))
		t.d = append(t.d, d)
	}
	return f, ok
}

// mustRead is read, panicking with fixOverflow when d does not fit.
func (t *fixSources) mustRead(d decimal.Decimal) fix {
	f, ok := t.read(d)
	if !ok {
		panic(fixOverflow{})
	}
	return f
}

// dec is f as a decimal.Decimal: its source when it has one, the zero value
// for 0 (exponent 0, as decimal.Decimal{} is), a shared zero, a decimal dec
// made a moment ago for the same coefficient and exponent, or a new one.
// decimal.Decimal is immutable, so sharing one is safe.
func (t *fixSources) dec(f fix) decimal.Decimal {
	switch {
	case f.src > 0:
		return t.d[f.src]
	case f.c == 0 && f.e == 0:
		return decimal.Decimal{}
	case f.c == 0 && f.e >= -fixExpRange && f.e <= fixExpRange:
		return fixZeros[f.e+fixExpRange]
	}
	for i := range t.made {
		if m := &t.made[i]; m.c == f.c && m.e == f.e && m.c != 0 {
			return m.d
		}
	}
	d := decimal.New(f.c, f.e)
	m := &t.made[t.next]
	m.c, m.e, m.d = f.c, f.e, d
	t.next = (t.next + 1) % len(t.made)
	return d
}

func (f fix) sign() int        { return cmp.Compare(f.c, 0) }
func (f fix) isZero() bool     { return f.c == 0 }
func (f fix) isPositive() bool { return f.c > 0 }
func (f fix) isNegative() bool { return f.c < 0 }

// scaleUp is c × 10^k (k ≥ 0), or false when it does not fit.
func scaleUp(c int64, k int64) (int64, bool) {
	if c == 0 || k == 0 {
		return c, true
	}
	if k >= int64(len(pow10)) {
		return 0, false
	}
	p := pow10[k]
	if c > math.MaxInt64/p || c < math.MinInt64/p {
		return 0, false
	}
	return c * p, true
}

func mustScaleUp(c int64, k int64) int64 {
	v, ok := scaleUp(c, k)
	if !ok {
		panic(fixOverflow{})
	}
	return v
}

// quo10 is c / 10^k truncated towards zero (big.Int.Quo) and the remainder
// (big.Int.Rem, with c's sign), for k ≥ 0.
func quo10(c int64, k int64) (q, r int64) {
	if k >= int64(len(pow10)) {
		return 0, c // |c| < 2^63 < 10^19
	}
	p := pow10[k]
	return c / p, c % p
}

func addInt(a, b int64) int64 {
	s := a + b
	if (a^s)&(b^s) < 0 {
		panic(fixOverflow{})
	}
	return s
}

func subInt(a, b int64) int64 {
	s := a - b
	if (a^b)&(a^s) < 0 {
		panic(fixOverflow{})
	}
	return s
}

// add is decimal.Decimal.Add: the result has the smaller exponent.
func (f fix) add(g fix) fix {
	switch {
	case f.e < g.e:
		return fix{c: addInt(f.c, mustScaleUp(g.c, int64(g.e)-int64(f.e))), e: f.e}
	case f.e > g.e:
		return fix{c: addInt(mustScaleUp(f.c, int64(f.e)-int64(g.e)), g.c), e: g.e}
	}
	return fix{c: addInt(f.c, g.c), e: f.e}
}

// sub is decimal.Decimal.Sub.
func (f fix) sub(g fix) fix {
	switch {
	case f.e < g.e:
		return fix{c: subInt(f.c, mustScaleUp(g.c, int64(g.e)-int64(f.e))), e: f.e}
	case f.e > g.e:
		return fix{c: subInt(mustScaleUp(f.c, int64(f.e)-int64(g.e)), g.c), e: g.e}
	}
	return fix{c: subInt(f.c, g.c), e: f.e}
}

// mul is decimal.Decimal.Mul: the exponents add up (decimal.Decimal panics
// when they leave int32; so does mul, with fixOverflow, and the
// decimal.Decimal replay then panics as it always did).
func (f fix) mul(g fix) fix {
	e := int64(f.e) + int64(g.e)
	if e > math.MaxInt32 || e < math.MinInt32 {
		panic(fixOverflow{})
	}
	neg := (f.c < 0) != (g.c < 0)
	hi, lo := bits.Mul64(absU(f.c), absU(g.c))
	if hi != 0 || lo > math.MaxInt64 {
		panic(fixOverflow{})
	}
	c := int64(lo)
	if neg {
		c = -c
	}
	return fix{c: c, e: int32(e)}
}

func absU(c int64) uint64 {
	if c < 0 {
		return uint64(-c) // MinInt64 wraps to 2^63, its magnitude
	}
	return uint64(c)
}

// rescale is decimal.Decimal's rescale: f with exponent e, multiplied up or
// truncated towards zero.
func (f fix) rescale(e int32) fix {
	switch {
	case e == f.e:
		return fix{c: f.c, e: e}
	case e > f.e:
		q, _ := quo10(f.c, int64(e)-int64(f.e))
		return fix{c: q, e: e}
	}
	return fix{c: mustScaleUp(f.c, int64(f.e)-int64(e)), e: e}
}

// round is decimal.Decimal.Round: f itself when it has exactly places
// decimals; else truncated to places+1 decimals, ±5 added at that place and
// truncated to places (half away from zero).
func (f fix) round(places int32) fix {
	if int64(f.e) == -int64(places) {
		return f
	}
	t := int64(-places) - 1
	if t < math.MinInt32 || t+1 > math.MaxInt32 {
		panic(fixOverflow{})
	}
	r := f.rescale(int32(t))
	if r.c < 0 {
		r.c = subInt(r.c, 5)
	} else {
		r.c = addInt(r.c, 5)
	}
	r.c /= 10
	r.e++
	return r
}

// roundFloor is decimal.Decimal.RoundFloor: towards −∞, always with exponent
// -places.
func (f fix) roundFloor(places int32) fix {
	if int64(f.e) >= -int64(places) {
		return f.rescale(-places)
	}
	q, r := quo10(f.c, -int64(places)-int64(f.e))
	if r < 0 {
		q--
	}
	return fix{c: q, e: -places}
}

// cmp is decimal.Decimal.Cmp: by value, whatever the exponents.
func (f fix) cmp(g fix) int {
	if f.e == g.e {
		return cmp.Compare(f.c, g.c)
	}
	sf, sg := f.sign(), g.sign()
	switch {
	case sf != sg:
		return cmp.Compare(sf, sg)
	case sf == 0:
		return 0
	}
	// Same sign, neither zero: bring the one with the larger exponent down
	// to the other's. If that does not fit an int64 its magnitude is larger
	// than any int64 (no multiple of 10 is −2^63), so larger than the other's.
	if f.e < g.e {
		gs, ok := scaleUp(g.c, int64(g.e)-int64(f.e))
		if !ok {
			return -sg
		}
		return cmp.Compare(f.c, gs)
	}
	fs, ok := scaleUp(f.c, int64(f.e)-int64(g.e))
	if !ok {
		return sf
	}
	return cmp.Compare(fs, g.c)
}

// fixMinOf is decimal.Min(f, g): g only when it is smaller, else f (with its
// exponent and source).
func fixMinOf(f, g fix) fix {
	if g.cmp(f) < 0 {
		return g
	}
	return f
}

// fixAdd is add (the balance engine's helper): a + b, or the other operand
// itself when one is zero, as decimal.Decimal gives it.
func fixAdd(a, b fix) fix {
	switch {
	case b.isZero():
		return a
	case a.isZero():
		return b
	}
	return a.add(b)
}
