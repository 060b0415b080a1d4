package codec

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// EnvVar is the environment variable that holds the encryption keys. The
// worker, the API, the starter and the codec server must all see the same
// value, or payloads written by one cannot be read by another.
const EnvVar = "DUNNING_ENCRYPTION_KEYS"

// keySize is the AES-256 key length. Only AES-256 is accepted so that a
// truncated or mistyped key is an error at start-up rather than a silently
// weaker cipher.
const keySize = 32

// maxIDLen bounds a key id: it is written into the metadata of every
// encrypted payload, so a long id is paid for in every history event.
const maxIDLen = 64

// key is one named AES-256 key.
type key struct {
	id       string
	material []byte
}

// Keys is the ordered set of encryption keys, oldest first and newest last.
// The newest key encrypts; every key decrypts, which is what makes rotation
// possible: add a new key at the end, deploy, and histories written under
// the old keys still read. Drop an old key only once no retained history
// (including the namespace's retention window) was written with it.
//
// Keys never prints key material: String and GoString show only the ids,
// so a Keys value can be logged or end up in a %v or %#v without leaking.
type Keys struct {
	keys []key
}

// IDs returns the key ids, oldest first; the last one is the key that
// encrypts. It is meant for start-up logs.
func (k Keys) IDs() []string {
	ids := make([]string, len(k.keys))
	for i, kk := range k.keys {
		ids[i] = kk.id
	}
	return ids
}

// String shows only the key ids, never the key material.
func (k Keys) String() string {
	return "codec.Keys[" + strings.Join(k.IDs(), ",") + "]"
}

// GoString is String, so that %#v does not print the key bytes either.
func (k Keys) GoString() string { return k.String() }

// ParseKeys parses "id:base64key,id:base64key,…" (newest last), the format
// of DUNNING_ENCRYPTION_KEYS. Ids are 1 to 64 characters of [A-Za-z0-9._-]
// and unique; keys are standard (padded) base64 of exactly 32 bytes.
// Whitespace around entries is ignored, since secrets mounted from files
// often end in a newline.
//
// Errors name the offending entry by its 1-based index and, when the id is
// valid, by its id. They never contain key material: the key text is not
// echoed, and an invalid id is not echoed either, because an entry written
// the wrong way round ("key:id") would otherwise print the key.
func ParseKeys(s string) (Keys, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Keys{}, errors.New("encryption keys: empty; want id:base64key[,id:base64key…] with the newest key last")
	}
	entries := strings.Split(s, ",")
	keys := make([]key, 0, len(entries))
	seen := make(map[string]int, len(entries))
	for i, entry := range entries {
		n := i + 1
		entry = strings.TrimSpace(entry)
		if entry == "" {
			return Keys{}, fmt.Errorf("encryption keys: entry %d is empty (stray comma?)", n)
		}
		id, b64, ok := strings.Cut(entry, ":")
		if !ok {
			return Keys{}, fmt.Errorf("encryption keys: entry %d has no ':' between id and key", n)
		}
		id, b64 = strings.TrimSpace(id), strings.TrimSpace(b64)
		if id == "" {
			return Keys{}, fmt.Errorf("encryption keys: entry %d has an empty id", n)
		}
		if !validID(id) {
			return Keys{}, fmt.Errorf("encryption keys: entry %d has an invalid id (want 1-%d characters of A-Za-z0-9._-)", n, maxIDLen)
		}
		if first, dup := seen[id]; dup {
			return Keys{}, fmt.Errorf("encryption keys: entry %d (id %q) repeats the id of entry %d", n, id, first)
		}
		seen[id] = n
		material, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			// The decoder's error is dropped: it is harmless today, but
			// nothing about the key text belongs in a log.
			return Keys{}, fmt.Errorf("encryption keys: entry %d (id %q): key is not valid standard base64", n, id)
		}
		if len(material) != keySize {
			return Keys{}, fmt.Errorf("encryption keys: entry %d (id %q): key is %d bytes, want %d (AES-256)", n, id, len(material), keySize)
		}
		keys = append(keys, key{id: id, material: material})
	}
	return Keys{keys: keys}, nil
}

// KeysFromEnv reads and parses DUNNING_ENCRYPTION_KEYS through getenv
// (os.Getenv in production, a map lookup in tests). An unset or empty
// variable is an error rather than "no encryption": running without it would
// write personal data into workflow histories in clear text.
func KeysFromEnv(getenv func(string) string) (Keys, error) {
	v := getenv(EnvVar)
	if strings.TrimSpace(v) == "" {
		return Keys{}, fmt.Errorf("%s is not set: set it to id:base64key[,id:base64key…] with the newest key last, "+
			"e.g. %s=k1:$(openssl rand -base64 32)", EnvVar, EnvVar)
	}
	keys, err := ParseKeys(v)
	if err != nil {
		return Keys{}, fmt.Errorf("%s: %w", EnvVar, err)
	}
	return keys, nil
}

func validID(id string) bool {
	if len(id) == 0 || len(id) > maxIDLen {
		return false
	}
	for _, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
		default:
			return false
		}
	}
	return true
}
