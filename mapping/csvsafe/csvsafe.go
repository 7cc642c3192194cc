// Package csvsafe holds the one rule fhirbridge uses against spreadsheet
// formula injection in flat files (OWASP "CSV Injection"), shared by the
// mapping engine's csv_escape transform and the flat-file writer.
package csvsafe

// Escape neutralises spreadsheet formula injection (OWASP "CSV
// Injection"): text starting with '=', '+', '-', '@', TAB or CR gets a
// leading single quote, so a spreadsheet shows it as text instead of
// evaluating it. Plain numbers are left alone: a value matching
// ^[+-]?[0-9]+([.,][0-9]+)?$ (such as -12.5 or +34) is returned as it is.
func Escape(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
	default:
		return s
	}
	if isPlainNumber(s) {
		return s
	}
	return "'" + s
}

// isPlainNumber reports whether s matches ^[+-]?[0-9]+([.,][0-9]+)?$.
func isPlainNumber(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := func() bool {
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i > start
	}
	if !digits() {
		return false
	}
	if i == len(s) {
		return true
	}
	if s[i] != '.' && s[i] != ',' {
		return false
	}
	i++
	return digits() && i == len(s)
}
