package booking

import (
	"embed"

	"github.com/fhirbridge/fhirbridge/batch/store"
)

// migrationFS is the package's line of migrations, "tuotempo_booking" (the store allows no hyphen): the
// index of Schedules, Slots, insurances and Appointments the web services
// search, and the kept answers of addAppointment (see
// [store.RegisterMigrations]).
//
//go:embed migrations
var migrationFS embed.FS

func init() { store.RegisterMigrations("tuotempo_booking", migrationFS, "migrations") }
