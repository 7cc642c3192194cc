package booking

import (
	"context"

	"github.com/fhirbridge/fhirbridge/connectors/tuotempo/ws"
)

func f(name string, req bool, max int) ws.Field { return ws.Field{Name: name, Required: req, Max: max} }

var (
	apptOut = []ws.Field{f("APP_LID", true, 50), f("STATUS", true, 10), f("APP_DATE", true, 10), f("APP_START_TIME", true, 5),
		f("APP_END_TIME", false, 5), f("USER_LID", true, 50), f("USER_MOBILE_PHONE", false, 50), f("USER_EMAIL", false, 50),
		f("USER_INSURANCE_LID", false, 50), f("ACTIVITY_LID", true, 50), f("ACTIVITY_NAME", false, 50), f("ACTIVITY_GROUP_LID", false, 50),
		f("ACTIVITY_GROUP_NAME", false, 50), f("RESOURCE_LID", true, 50), f("RESOURCE_FIRST_NAME", false, 50), f("RESOURCE_SECOND_NAME", false, 50)}
	checkOut = []ws.Field{f("APP_LID", true, 50), f("STATUS", true, 10), f("APP_DATE", true, 10), f("APP_START_TIME", true, 5),
		f("APP_END_TIME", false, 5), f("USER_LID", true, 50), f("USER_TID", false, 50), f("USER_MOBILE_PHONE", false, 50),
		f("USER_EMAIL", false, 50), f("USER_INSURANCE_LID", false, 50), f("RESOURCE_LID", true, 50), f("ACTIVITY_LID", true, 50)}
	addIn = []ws.Field{f("ACTIVITY_LID", true, 50), f("RESOURCE_LID", false, 50), f("USER_TID", false, 50), f("USER_LID", false, 50),
		f("USER_FIRST_NAME", false, 50), f("USER_SECOND_NAME", false, 50), f("USER_THIRD_NAME", false, 50), f("USER_GENDER", false, 10),
		f("USER_DATE_OF_BIRTH", false, 10), f("USER_MOBILE_PHONE", false, 50), f("USER_LANDLINE_PHONE", false, 50), f("USER_EMAIL", false, 50),
		f("USER_ID_NUMBER", false, 50), f("APP_DATE", true, 10), f("APP_START_TIME", true, 5), f("AVAILABILITY_LID", false, 50),
		f("INSURANCE_LID", false, 50), f("APP_TID", false, 50)}
)

// Operations returns the web services the service answers, for the
// transports' ws.Registry. CENTER_LID is the transport's (Request.Center).
func (s *Service) Operations() []*ws.Operation {
	listIn := []ws.Field{f("USER_LID", false, 50), f("USER_TID", false, 50), f("START_DATE", false, 10), f("END_DATE", false, 10),
		f("RESOURCE_LID", false, 50), f("LAST_REQUEST_TIMESTAMP", false, 30)}
	trim := func(out []ws.Field, call func(context.Context, *ws.Request) ([]ws.Record, error)) func(context.Context, *ws.Request) ([]ws.Record, error) {
		return func(ctx context.Context, req *ws.Request) ([]ws.Record, error) {
			recs, err := call(ctx, req)
			for i := range recs {
				recs[i] = only(recs[i], out)
			}
			return recs, err
		}
	}
	return []*ws.Operation{
		{Name: "searchAvailabilities", Section: "B.2.2", List: true,
			Doc: "The free slots of the center's schedules, in start order.",
			In: []ws.Field{f("ACTIVITY_LID", false, 50), f("AVA_START_DAY", false, 10), f("AVA_END_DAY", false, 10), f("AVA_START_TIME", false, 5),
				f("AVA_END_TIME", false, 5), f("AVA_MIN_TIME", false, 5), f("AVA_MAX_TIME", false, 5), f("AVA_RESULTS_NUMBER", true, 5),
				f("RESOURCE_LID", false, 50), f("INSURANCE_LID", false, 50)},
			Out: []ws.Field{f("RESOURCE_LID", true, 50), f("ACTIVITY_LID", false, 50), f("INSURANCE_LID", false, 50), f("AVA_DATE", true, 10),
				f("AVA_START_TIME", true, 5), f("AVAILABILITY_LID", true, 50), f("AVA_END_TIME", false, 5), f("ACTIVITY_PRICE", false, 50)},
			Call: s.search},
		{Name: "addAppointment", Section: "B.2.2", Doc: "Books a free slot for a patient (new patients are created).",
			In:  addIn,
			Out: []ws.Field{f("ADD_RESULT", true, 50), f("ERROR_MESSAGE", false, 500), f("APP_LID", false, 50), f("USER_LID", false, 50)},
			Call: func(ctx context.Context, req *ws.Request) ([]ws.Record, error) {
				rec, err := s.Add(ctx, req.Center, req.Params)
				if err != nil {
					return nil, err
				}
				return []ws.Record{rec}, nil
			}},
		{Name: "deleteAppointment", Section: "B.2.2", Doc: "Cancels an appointment and frees its slot.",
			In:  []ws.Field{f("APP_LID", true, 50)},
			Out: []ws.Field{f("DELETE_RESULT", true, 50), f("ERROR_MESSAGE", false, 500), f("APP_LID", false, 50)},
			Call: func(ctx context.Context, req *ws.Request) ([]ws.Record, error) {
				rec, err := s.Cancel(ctx, req.Center, req.Get("APP_LID"), true)
				if err != nil {
					return nil, err
				}
				return []ws.Record{rec}, nil
			}},
		{Name: "checkAppointment", Section: "B.2.2", Doc: "The status of one appointment.",
			In: []ws.Field{f("APP_LID", true, 50)}, Out: checkOut, Call: trim(checkOut, s.check)},
		{Name: "getAppointments", Section: "B.2.2", List: true, Doc: "A patient's appointments (USER_LID or USER_TID).",
			In: listIn, Out: apptOut, Call: trim(apptOut, s.list)},
		{Name: "SearchAppointments", Section: "A.4.1", List: true, Doc: "A patient's appointments.",
			In: []ws.Field{f("USER_LID", true, 50), f("START_DATE", false, 10), f("END_DATE", false, 10), f("RESOURCE_LID", false, 50),
				f("LAST_REQUEST_TIMESTAMP", false, 30)},
			Out: apptOut, Call: trim(apptOut, s.list)},
		{Name: "CancelAppointment", Section: "A.4.2", Doc: "Cancels a patient's appointment (APP_LID and USER_LID must match).",
			In:   []ws.Field{f("APP_LID", true, 50), f("USER_LID", true, 50)},
			Out:  []ws.Field{f("DELETE_RESULT", false, 50), f("RESULT", true, 10), f("APP_LID", false, 50)},
			Call: s.cancelA4},
	}
}

// cancelA4 answers CancelAppointment: the appointment must be the
// patient's; APP_LID carries the error message on ERROR (guide A.4.2).
func (s *Service) cancelA4(ctx context.Context, req *ws.Request) ([]ws.Record, error) {
	recs, err := s.check(ctx, req)
	if ws.KindOf(err) == ws.NotFound || (err == nil && recs[0]["USER_LID"] != req.Get("USER_LID")) {
		return []ws.Record{{"RESULT": "ERROR", "DELETE_RESULT": "ERROR", "APP_LID": msgNoApp}}, nil
	}
	if err != nil {
		return nil, err
	}
	rec, err := s.Cancel(ctx, req.Center, req.Get("APP_LID"), true)
	if err != nil {
		return nil, err
	}
	if rec["DELETE_RESULT"] != "OK" {
		return []ws.Record{{"RESULT": "ERROR", "DELETE_RESULT": "ERROR", "APP_LID": rec["ERROR_MESSAGE"]}}, nil
	}
	return []ws.Record{{"RESULT": "OK", "DELETE_RESULT": "OK", "APP_LID": req.Get("APP_LID")}}, nil
}
