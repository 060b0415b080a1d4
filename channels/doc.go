// Package channels delivers rendered notices through SMS, email and app push
// providers behind one small interface, Sender, so the activities do not care
// which provider (Twilio or Aliyun SMS, SMTP, FCM) is wired in. DevSink is the
// development sender: it records a masked log line instead of sending.
//
// Errors tell the caller whether to retry: an error for which IsPermanent is
// true will fail again on every retry, and ErrInvalidRecipient means the
// address is dead and the channel should be opted out for that customer.
package channels
