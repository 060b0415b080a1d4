// Package codec encrypts Temporal payloads so that personal data (names,
// phone numbers, e-mail addresses, amounts owed) never reaches the Temporal
// server, its database or its backups in clear text. Temporal stores every
// workflow and activity input, result, signal and memo in the history; the
// only place to keep personal data out of it is the client side, in a
// converter.PayloadCodec that the worker, the API and the starter all use
// (see DataConverter).
//
// The Temporal Web UI then shows only ciphertext. Handler serves the codec
// over HTTP so the UI can decode payloads in the operator's browser without
// the keys ever leaving our side (start the UI with --ui-codec-endpoint
// pointing at it).
//
// Each payload is encrypted whole (its metadata too, which would otherwise
// reveal the payload's type) with AES-256-GCM under the newest key in
// DUNNING_ENCRYPTION_KEYS; the key id travels in the new payload's metadata
// so that older keys keep decrypting after a rotation.
package codec

import (
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"fmt"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"
)

const (
	// EncodingEncrypted is the "encoding" metadata value of an encrypted
	// payload. It is the value Temporal's encryption samples use, so the
	// UI and tctl recognise the payload as binary rather than JSON.
	EncodingEncrypted = "binary/encrypted"
	// MetadataKeyID is the metadata key naming the key that encrypted the
	// payload; Decode picks the key by it, which is what makes rotation work.
	MetadataKeyID = "encryption-key-id"
)

var (
	// ErrUnknownKeyID is returned (wrapped, with the id) by Decode for a
	// payload encrypted under a key that is not in Keys: usually a key that
	// was dropped from DUNNING_ENCRYPTION_KEYS too early, or a process
	// started with a different key set.
	ErrUnknownKeyID = errors.New("unknown encryption key id")
	// ErrDecrypt is returned (wrapped, with the key id) by Decode when a
	// payload fails GCM authentication: it was tampered with, truncated, or
	// encrypted under a different key that reuses the id.
	ErrDecrypt = errors.New("payload failed decryption")
)

// Codec is a converter.PayloadCodec that encrypts with the newest key and
// decrypts with whichever key a payload names. It is safe for concurrent
// use; build one per process with New and share it.
type Codec struct {
	newest string
	aeads  map[string]cipher.AEAD
}

var _ converter.PayloadCodec = (*Codec)(nil)

// New builds a Codec from keys, which must hold at least one key (a zero
// Keys is an error, not a pass-through codec, so a missing configuration
// cannot silently disable encryption).
func New(keys Keys) (*Codec, error) {
	if len(keys.keys) == 0 {
		return nil, errors.New("codec: no encryption keys")
	}
	c := &Codec{aeads: make(map[string]cipher.AEAD, len(keys.keys))}
	for _, k := range keys.keys {
		block, err := aes.NewCipher(k.material)
		if err != nil {
			return nil, fmt.Errorf("codec: key %q: %w", k.id, err)
		}
		// NewGCMWithRandomNonce draws a fresh random 12-byte nonce for
		// every Seal and prepends it, so a nonce can never be reused by
		// mistake. 2^32 payloads per key is the limit; rotate well before.
		aead, err := cipher.NewGCMWithRandomNonce(block)
		if err != nil {
			return nil, fmt.Errorf("codec: key %q: %w", k.id, err)
		}
		c.aeads[k.id] = aead
		c.newest = k.id
	}
	return c, nil
}

// Encode encrypts each payload under the newest key: the whole payload
// (data and metadata) is proto-marshalled, sealed with AES-256-GCM, and
// becomes the data of a new payload whose only metadata is the encoding
// and the key id. Nil payloads stay nil.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	aead := c.aeads[c.newest]
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if p == nil {
			continue
		}
		plain, err := proto.Marshal(p)
		if err != nil {
			return payloads, fmt.Errorf("codec: marshal payload %d: %w", i, err)
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				converter.MetadataEncoding: []byte(EncodingEncrypted),
				MetadataKeyID:              []byte(c.newest),
			},
			Data: aead.Seal(nil, nil, plain, nil),
		}
	}
	return out, nil
}

// Decode reverses Encode. Payloads whose encoding is not binary/encrypted
// are returned unchanged, so histories written before encryption was turned
// on still read. An encrypted payload is opened with the key its metadata
// names; errors name that key id and the payload's index but never any of
// the payload's content.
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if p == nil || string(p.GetMetadata()[converter.MetadataEncoding]) != EncodingEncrypted {
			out[i] = p
			continue
		}
		idBytes, ok := p.Metadata[MetadataKeyID]
		if !ok {
			return payloads, fmt.Errorf("codec: encrypted payload %d has no %s metadata", i, MetadataKeyID)
		}
		id := string(idBytes)
		aead, ok := c.aeads[id]
		if !ok {
			return payloads, fmt.Errorf("codec: payload %d: %w %q (is it missing from %s?)", i, ErrUnknownKeyID, id, EnvVar)
		}
		plain, err := aead.Open(nil, nil, p.Data, nil)
		if err != nil {
			// GCM's own error says nothing useful; say what it means.
			return payloads, fmt.Errorf("codec: payload %d, key %q: %w (tampered, truncated, or a different key under the same id)", i, id, ErrDecrypt)
		}
		var decoded commonpb.Payload
		if err := proto.Unmarshal(plain, &decoded); err != nil {
			return payloads, fmt.Errorf("codec: payload %d, key %q: decrypted bytes are not a payload", i, id)
		}
		out[i] = &decoded
	}
	return out, nil
}

// DataConverter wraps Temporal's default data converter with c. The worker,
// the API and the starter must all use it (client.Options.DataConverter):
// any process that reads or writes workflow data without it sees or writes
// ciphertext it cannot interpret.
func DataConverter(c *Codec) converter.DataConverter {
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), c)
}
