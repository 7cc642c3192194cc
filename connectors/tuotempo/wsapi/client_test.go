package wsapi

import (
	"context"
	"errors"
	"maps"
	"testing"

	"github.com/fhirbridge/fhirbridge/connectors/tuotempo/ws"
)

func TestClient(t *testing.T) {
	e := serve(t, true, Options{})
	for _, transport := range []string{"rest", "soap"} {
		for _, cred := range []struct {
			name string
			a    ClientAuth
		}{{"token", ClientAuth{Token: "tok-4"}}, {"basic", ClientAuth{User: "u4", Password: "p4"}}} {
			t.Run(transport+"/"+cred.name, func(t *testing.T) {
				c := NewClient(e.base, transport, cred.a, e.srv.Client())
				ctx := context.Background()
				recs, err := c.Call(ctx, "listThings", "c4", map[string]string{"FROM_DAY": "01/02/2026", "NAME": "a<&"})
				if err != nil {
					t.Fatal(err)
				}
				want := []ws.Record{{"THING_LID": "t1", "THING_NAME": "first <&> a<&", "CENTER": "c4"}, {"THING_LID": "t2", "CENTER": "c4"}}
				if len(recs) != len(want) || !maps.Equal(recs[0], want[0]) || !maps.Equal(recs[1], want[1]) {
					t.Errorf("list %v, want %v", recs, want)
				}
				recs, err = c.Call(ctx, "listThings", "c4", map[string]string{"FROM_DAY": "none"})
				if err != nil || len(recs) != 0 {
					t.Errorf("empty list: %v %v", recs, err)
				}
				recs, err = c.Call(ctx, "getDoc", "c4", map[string]string{"DOWNLOAD_LID": "d1"})
				if err != nil {
					t.Fatal(err)
				}
				if len(recs) != 1 || recs[0]["DOWNLOAD_CONTENT"] != binaryContent || recs[0]["NOTE"] != "ok" {
					t.Errorf("single %q", recs)
				}
				for _, ec := range []struct {
					op, lid string
					kind    ws.Kind
					field   string
				}{
					{"getDoc", "bad", ws.BadRequest, "DOWNLOAD_LID"},
					{"getDoc", "missing", ws.NotFound, "DOWNLOAD_LID"},
					{"getDoc", "busy", ws.Unavailable, ""},
					{"getDoc", "boom", ws.Unavailable, ""},
					{"nothing", "x", ws.NotFound, ""},
				} {
					_, err := c.Call(ctx, ec.op, "c4", map[string]string{"DOWNLOAD_LID": ec.lid})
					var we *ws.Error
					if !errors.As(err, &we) || we.Kind != ec.kind || we.Field != ec.field {
						t.Errorf("%s %s: %v, want kind %d field %q", ec.op, ec.lid, err, ec.kind, ec.field)
					}
				}
				if _, err := c.Call(ctx, "getDoc", "c1", map[string]string{"DOWNLOAD_LID": "d1"}); !errors.Is(err, ErrUnauthorized) {
					t.Errorf("another center's call: %v, want ErrUnauthorized", err)
				}
			})
		}
	}
	if _, err := NewClient(e.base, "ftp", ClientAuth{}, e.srv.Client()).Call(context.Background(), "getDoc", "c1", nil); err == nil {
		t.Error("unknown transport accepted")
	}
}
