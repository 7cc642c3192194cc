// Package mail sends plain-text notices through a site's own SMTP server
// (RFC 5321 submission, RFC 3207 STARTTLS or RFC 8314 implicit TLS,
// RFC 4954 AUTH with PLAIN or LOGIN) and builds the digests the bridge
// mails to a centre: one mail per cancellation file, failed export run or
// rejected file, never one per row (tuOtempO integration options,
// A.1.2.2 "Providing mail notification").
//
// Messages are RFC 5322 text/plain UTF-8 bodies in quoted-printable, with
// RFC 2047 encoded subjects. The digest builders take only counts, ids,
// file names, line numbers and reason codes, so no patient name, phone or
// e-mail can reach a mail through them (GUIDE §3.6).
//
// Send classifies its failures (connectors.Classify): connection faults,
// timeouts and 4xx replies are transient; authentication failures and
// broken TLS trust need a reconnect (an operator fixes the credentials or
// CA); a 5xx refusal of the sender, a recipient or the content is
// permanent. Errors name the host, the SMTP step and the reply code, never
// the body, the server's free text or the password.
package mail
