package ttsim

import (
	"context"
	"errors"
	"fmt"

	"github.com/fhirbridge/fhirbridge/connectors/tuotempo/ws"
)

// results lists the patient's results, finds the one of the given
// DOWNLOAD_CODE / USER_ID_NUMBER pair and fetches its content.
func (r *run) results(ctx context.Context) error {
	res := r.s.Results
	const listOp, contentOp = "getTestResultsList", "getTestResultContent"
	user := res.UserLID
	if user == "" {
		user = r.rep.UserLID
	}
	p := map[string]string{"USER_LID": user}
	if res.StartDate != "" {
		p["RESULT_START_DATE"] = res.StartDate
	}
	recs, err := r.call(ctx, listOp, p)
	if err != nil {
		return err
	}
	var hit ws.Record
	for i, rec := range recs {
		if err := need(rec, "DOWNLOAD_LID", "STATUS", "DOWNLOAD_CODE", "DOWNLOAD_TYPE", "USER_LID", "USER_ID_NUMBER"); err != nil {
			return r.fail(listOp, fmt.Errorf("result %d: %w", i, err))
		}
		if s := rec["STATUS"]; s != "Valid" && s != "Cancelled" {
			return r.fail(listOp, fmt.Errorf("result %d: STATUS %q: Valid or Cancelled", i, s))
		}
		if rec["USER_LID"] != user {
			return r.fail(listOp, fmt.Errorf("result %d is of USER_LID %s, listed for %s", i, rec["USER_LID"], user))
		}
		if rec["DOWNLOAD_CODE"] == res.DownloadCode && rec["USER_ID_NUMBER"] == res.IDNumber {
			hit = rec
		}
	}
	if hit == nil {
		return r.fail(listOp, fmt.Errorf("%d results, none with the given DOWNLOAD_CODE and USER_ID_NUMBER", len(recs)))
	}
	r.rep.ResultLID = hit["DOWNLOAD_LID"]
	r.line(listOp, fmt.Sprintf("OK %d results; DOWNLOAD_LID %s %s", len(recs), hit["DOWNLOAD_LID"], hit["STATUS"]))

	recs, err = r.call(ctx, contentOp, map[string]string{
		"DOWNLOAD_LID": hit["DOWNLOAD_LID"], "DOWNLOAD_CODE": res.DownloadCode, "USER_ID_NUMBER": res.IDNumber,
	})
	if err != nil {
		return err
	}
	rec, err := one(recs)
	if err != nil {
		return r.fail(contentOp, err)
	}
	if rec["DOWNLOAD_LID"] != hit["DOWNLOAD_LID"] {
		return r.fail(contentOp, fmt.Errorf("DOWNLOAD_LID %s, asked %s", rec["DOWNLOAD_LID"], hit["DOWNLOAD_LID"]))
	}
	r.rep.ResultStatus = rec["STATUS"]
	r.rep.ResultBytes = len(rec["DOWNLOAD_CONTENT"])
	switch rec["STATUS"] {
	case "Valid":
		if r.rep.ResultBytes == 0 {
			return r.fail(contentOp, errors.New("STATUS Valid without DOWNLOAD_CONTENT"))
		}
	case "Cancelled":
	default:
		return r.fail(contentOp, fmt.Errorf("STATUS %q: Valid or Cancelled", rec["STATUS"]))
	}
	r.line(contentOp, fmt.Sprintf("OK DOWNLOAD_LID %s %s, %d bytes", rec["DOWNLOAD_LID"], rec["STATUS"], r.rep.ResultBytes))
	return nil
}
