package connectors

import (
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
)

// The checks a configuration runs before anything starts, shared by the
// application's sections and the vendor modules' own.

// CheckPort accepts a decimal port in 1-65535.
func CheckPort(p string) error {
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("port %q is not 1-65535", p)
	}
	return nil
}

// CheckHost accepts a host name or IP address without a port.
func CheckHost(h string) error {
	if h == "" || strings.ContainsAny(h, " \t/@?#") || (strings.Contains(h, ":") && net.ParseIP(h) == nil) {
		return fmt.Errorf("%q is not a host name or IP address (the port is set on its own)", h)
	}
	return nil
}

// ReadCAs reads a PEM file that must hold at least one certificate.
func ReadCAs(path string) error {
	pem, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if !x509.NewCertPool().AppendCertsFromPEM(pem) {
		return fmt.Errorf("%s holds no PEM certificate", path)
	}
	return nil
}

// IsDir checks that path is an existing folder.
func IsDir(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a folder", path)
	}
	return nil
}
