package shipped

import (
	"testing"

	"github.com/fhirbridge/fhirbridge/mapping"
	"github.com/fhirbridge/fhirbridge/mapping/hl7v2"
)

// benchSIU is a realistic 7-segment SIU^S12 (synthetic) with one AIS, AIP
// and AIL.
const benchSIU = "MSH|^~\\&|SCHEDSYS|NORTHCLINIC|FHIRBRIDGE|TELECARE|20261207091500||SIU^S12^SIU_S12|SCH000101|P|2.5.1|||AL|NE\r" +
	"SCH|APT-20261208-001^SCHEDSYS^2.16.840.1.113883.3.9999.10^ISO|FIL-77881^AGENDA|||||FOLLOWUP^Follow-up visit^HL70276|Normal^Routine^HL70277|30|min|^^30^202612081000+0100^202612081030+0100||||||||||||||Booked\r" +
	"PID|1||MRN-000451^^^NORTHCLINIC&2.16.840.1.113883.3.9999.1&ISO^MR~99887766^^^REGION^NH||Testperson^Alba^Maria^^Ms^^L||19850312|F|||Calle Ficticia 12^Piso 3^Valencia^VC^46001^ES^H||^PRN^PH^^34^961^234567~^NET^Internet^alba.testperson@example.org|^WPN^CP^^34^600^112233\r" +
	"RGS|1|A\r" +
	"AIS|1|A|CONS-FU^Follow-up consultation^L|202612081000+0100|||30|min\r" +
	"AIP|1|A|D-1001^Ficticio^Jorge^^^Dr^MD^^NORTHCLINIC&2.16.840.1.113883.3.9999.2&ISO|ATND^Attending||202612081000+0100|||30|min\r" +
	"AIL|1|A|CONS-3^^^NORTHCLINIC^^^^^Consulting room 3|ROOM^Room\r"

// BenchmarkShippedSIU parses benchSIU and maps it with the shipped
// hl7v2/siu-appointment mapping to its 4-entry transaction Bundle (what
// the HL7 listener does per message before the commit).
//
//	go test ./mapping/shipped -run '^$' -bench ShippedSIU -benchmem
func BenchmarkShippedSIU(b *testing.B) {
	p, _ := Path("hl7v2/siu-appointment")
	m, err := mapping.Load(FS, p, map[string]string{"zone": "Europe/Madrid"})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(benchSIU)))
	b.ReportAllocs()
	for b.Loop() {
		msg, err := hl7v2.Parse([]byte(benchSIU))
		if err != nil {
			b.Fatal(err)
		}
		out, err := m.ReverseMessage(msg)
		if err != nil || out == nil {
			b.Fatalf("mapping: %v", err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
