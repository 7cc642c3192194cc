package server

import (
	"encoding/json"
	"net/http"

	"github.com/fhirbridge/fhirbridge/fhir/buildinfo"
)

// healthz is the /healthz answer: the process is alive, and which build it is.
type healthz struct {
	Status string `json:"status"`
	buildinfo.Info
}

// writeHealthz answers /healthz with 200 and the build information as JSON.
func writeHealthz(w http.ResponseWriter) {
	b, err := json.Marshal(healthz{Status: "ok", Info: buildinfo.Get()})
	if err != nil { // cannot happen with these field types
		http.Error(w, "ok", http.StatusOK)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(append(b, '\n'))
}
