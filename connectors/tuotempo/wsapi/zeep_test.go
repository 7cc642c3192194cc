package wsapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"
)

// debianPython is the interpreter with Debian's python3-zeep.
const debianPython = "/usr/bin/python3"

// TestZeep runs a real SOAP client (zeep) against the handler: WSDL
// loading, a list, an empty list, a single record with a Binary field and
// a Client fault. Skipped when zeep is missing, unless
// FHIRBRIDGE_REQUIRE_ZEEP=1.
func TestZeep(t *testing.T) {
	if err := exec.Command(debianPython, "-c", "import zeep").Run(); err != nil {
		if os.Getenv("FHIRBRIDGE_REQUIRE_ZEEP") == "1" {
			t.Fatalf("FHIRBRIDGE_REQUIRE_ZEEP=1 but %s cannot import zeep: %v", debianPython, err)
		}
		t.Skipf("%s cannot import zeep (apt-get install python3-zeep): %v", debianPython, err)
	}
	e := serve(t, false, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, debianPython, "testdata/zeep_client.py", e.base+"soap?wsdl", "tok-1", "c1")
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("zeep client: %v\n%s", err, stderr)
	}
	var got struct {
		Operations []string            `json:"operations"`
		List       []map[string]string `json:"list"`
		Empty      int                 `json:"empty"`
		Single     map[string]string   `json:"single"`
		Fault      *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"fault"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("zeep output is not JSON: %v\n%s", err, out)
	}
	if !slices.Equal(got.Operations, []string{"getDoc", "listThings"}) {
		t.Errorf("operations %v", got.Operations)
	}
	if len(got.List) != 2 || got.List[0]["THING_LID"] != "t1" || got.List[0]["THING_NAME"] != "first <&> ab" ||
		got.List[0]["CENTER"] != "c1" || got.List[1]["THING_LID"] != "t2" || got.List[1]["THING_NAME"] != "" {
		t.Errorf("list %v", got.List)
	}
	if got.Empty != 0 {
		t.Errorf("empty list has %d records", got.Empty)
	}
	if got.Single["DOWNLOAD_LID"] != "d1" || got.Single["NOTE"] != "ok" ||
		got.Single["DOWNLOAD_CONTENT_B64"] != base64.StdEncoding.EncodeToString([]byte(binaryContent)) {
		t.Errorf("single %v", got.Single)
	}
	if got.Fault == nil || got.Fault.Message != "no such download" || (got.Fault.Code != "soap:Client" && got.Fault.Code != "{http://schemas.xmlsoap.org/soap/envelope/}Client") {
		t.Errorf("fault %+v", got.Fault)
	}
	if e.counter(t, "getDoc", "soap", "ok") != 1 || e.counter(t, "getDoc", "soap", "not_found") != 1 || e.counter(t, "listThings", "soap", "ok") != 2 {
		t.Errorf("zeep's calls not counted")
	}
}
