package tuotempo

import (
	"errors"

	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/connectors/tuotempo/tmpfiles"
	"github.com/fhirbridge/fhirbridge/connectors/tuotempo/ws"
)

// tmpJobs validates the section's temporary table folders
// (reservations_tmp, then delete_reservations), their job names unique
// among names (the section's other jobs), and returns their jobs.
func (t *Config) tmpJobs(names map[string]bool) ([]tmpfiles.Job, error) {
	res, err1 := tmpfiles.Jobs(section+".reservations_tmp", tmpfiles.ReservationsTmp, t.ReservationsTmp, names)
	del, err2 := tmpfiles.Jobs(section+".delete_reservations", tmpfiles.DeleteReservation, t.DeleteReservations, names)
	return append(res, del...), errors.Join(err1, err2)
}

// TmpPollers returns the pollers of the section's temporary table folders
// over st, applying their rows through booker. Serve runs them with
// tmpfiles.Run(ctx, pollers, open, log), open connecting to the section's
// remote.
func (t *Config) TmpPollers(st *store.Store, booker ws.Booker) ([]*tmpfiles.Poller, error) {
	jobs, err := t.tmpJobs(map[string]bool{})
	if err != nil {
		return nil, err
	}
	var out []*tmpfiles.Poller
	for _, j := range jobs {
		p, err := tmpfiles.New(j, st, booker, tmpfiles.Options{})
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}
