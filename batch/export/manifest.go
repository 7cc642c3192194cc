package export

import (
	"encoding/json"
	"time"
)

// ManifestSuffix is appended to the CSV file's name to name its manifest.
const ManifestSuffix = ".manifest.json"

// Manifest describes one export file; it is uploaded after the file as
// <file>.manifest.json so the reader can check it got the whole file. It
// holds counts, hashes and times only: no ids or patient values.
type Manifest struct {
	// File is the CSV file's name on the remote.
	File string `json:"file"`
	// Rows counts data rows (the header excluded).
	Rows int `json:"rows"`
	// Refused counts selected resources the mapping refused (not in the file).
	Refused int `json:"refused"`
	// Size is the file's length in bytes; SHA256 the hex SHA-256 of them.
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	// WindowStart and WindowEnd bound the Appointment starts selected,
	// [start, end), RFC 3339 in the job's time zone; absent for exports
	// of every current resource (TT_RESOURCES).
	WindowStart string `json:"window_start,omitempty"`
	WindowEnd   string `json:"window_end,omitempty"`
	// Mapping and MappingVersion identify the column set.
	Mapping        string            `json:"mapping"`
	MappingVersion int               `json:"mapping_version"`
	Params         map[string]string `json:"params,omitempty"`
	Columns        []string          `json:"columns"`
	// Encoding, Delimiter and LineEnd describe the CSV dialect.
	Encoding  string `json:"encoding"`
	Delimiter string `json:"delimiter"`
	LineEnd   string `json:"line_end"`
	// Job is the export job's name; ExportTime the time the window and
	// file name derive from; GeneratedAt when the file was built.
	Job         string `json:"job"`
	ExportTime  string `json:"export_time"`
	GeneratedAt string `json:"generated_at"`
}

// manifest describes c, built by j at export time at over w.
func (j *job) manifest(file string, c *content, w span, at, now time.Time) Manifest {
	m := Manifest{
		File: file, Rows: c.rows, Refused: c.nRefuse, Size: c.size, SHA256: c.sha256,
		Mapping: j.Mapping.Name(), MappingVersion: j.Mapping.Version(), Params: j.Params,
		Columns: j.Mapping.Columns(), Encoding: "utf-8", Delimiter: ",", LineEnd: "LF",
		Job: j.Name, ExportTime: at.In(j.loc).Format(time.RFC3339), GeneratedAt: now.In(j.loc).Format(time.RFC3339),
	}
	if !w.start.IsZero() {
		m.WindowStart = w.start.In(j.loc).Format(time.RFC3339)
		m.WindowEnd = w.end.In(j.loc).Format(time.RFC3339)
	}
	if j.write.Encoding != "" {
		m.Encoding = j.write.Encoding
	}
	if j.write.Delimiter != 0 {
		m.Delimiter = string(j.write.Delimiter)
	}
	if j.write.CRLF {
		m.LineEnd = "CRLF"
	}
	return m
}

// encode returns the manifest's JSON, indented, with a final newline.
func (m Manifest) encode() []byte {
	b, _ := json.MarshalIndent(m, "", "  ") // strings, ints and a map: cannot fail
	return append(b, '\n')
}
