// Package mllp carries HL7 v2 messages over the Minimal Lower Layer
// Protocol: a TCP (or TLS) stream of frames, each a start block (0x0B),
// the message, an end block (0x1C) and a carriage return (0x0D).
//
// # Frames
//
// A Reader reads frames strictly: any byte where a start block must come
// (also CR or LF between frames) is ErrOutsideFrame, an end block not
// followed by CR or a start block inside a frame ErrBadEnd, a message over
// the bound ErrTooLarge, a stream ending inside a frame ErrTruncated.
// Each is a *FrameError naming the byte offset in the stream, never
// content. WriteFrame frames one message.
//
// # Server
//
// A Server accepts connections (at most MaxConns at once; more are
// accepted and closed at once) and, on each, reads a frame, passes it to
// the Handler and writes the Handler's ACK framed before it reads the
// next frame, so the messages of one connection are handled strictly in
// order and connections run concurrently. A connection is closed when it
// sends nothing for IdleTimeout between messages, takes longer than
// ReadTimeout to complete a started frame or WriteTimeout to take an ACK,
// breaks the framing, or when the Handler returns no ACK. With a
// TLSConfig the listener speaks TLS; set ClientAuth to
// tls.RequireAndVerifyClientCert to require client certificates.
//
// Shutdown closes the listeners and idle connections, lets each message
// in hand (its first byte read) be handled and acknowledged, then closes
// its connection.
//
// Logs carry a connection id of the server's own, the remote port and
// the outcome, never a message byte or a remote host address.
package mllp
