// Package xfer holds what the Remote kinds (local, sftp, ftp) share: the
// checking of file names, the temporary names Put uploads to, a reader
// that honours cancellation and counts bytes, and a guard that bounds the
// network I/O of each operation.
package xfer
