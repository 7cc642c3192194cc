package hl7v2

import "strings"

// Synthetic messages; every name, number and identifier is invented.

// seg joins segment lines with CR, the standard terminator.
func seg(lines ...string) string { return strings.Join(lines, "\r") + "\r" }

// adtA04 is a registration with repeating identifiers and names, escapes
// and a Z-segment.
var adtA04 = seg(
	`MSH|^~\&|REGADT|GOODHEALTH|FHIRBRIDGE|TELECARE|20260101083000||ADT^A04^ADT_A01|MSG00001|P|2.5.1|||AL|NE||UNICODE UTF-8`,
	`EVN|A04|20260101083000|||OP0001^CLERK^EXAMPLE`,
	`PID|1||TEST0001^^^GOODHEALTH&2.16.840.1.113883.3.999&ISO^MR~T9999^^^STATE^DL||TESTPATIENT^ALPHA^Q^^^^L~TESTALIAS^BETA^^^^^A||19800101|F|||1 Example St\T\Unit 2^^Springfield^ST^00000^USA^H||^PRN^PH^^1^555^0100000|||||ACC0001`,
	`PV1|1|O|CLINIC1^^^GOODHEALTH||||0001^DOCTOR^EXAMPLE^^^^^^NPI|||||||||||V0001`,
	`NK1|1|TESTKIN^GAMMA|MTH^Mother^HL70063`,
	`ZPI|1|Preferred clinic \T\ note\.br\second line|VIP^Very important \S\ flag~LANG^Needs interpreter`,
)

// siuS12 is a new-appointment notification shaped as in the v2-to-FHIR
// SIU_S12 message map: SCH, NTE, PATIENT (PID PV1), RESOURCES (RGS AIS
// NTE AIG AIL AIP), plus a Z-segment.
var siuS12 = seg(
	`MSH|^~\&|SCHED|GOODHEALTH|FHIRBRIDGE|TELECARE|20260102090000||SIU^S12^SIU_S12|MSG00002|P|2.5.1|||AL|NE||UNICODE UTF-8`,
	`SCH|APT0001^SCHED|APT0001^TELECARE||||NEW^New appointment|ROUTINE^Routine^HL70276|FOLLOWUP^Follow-up^HL70277|30|MIN|^^30^20260105100000^20260105103000|0001^DOCTOR^EXAMPLE^^^^^^NPI|^WPN^PH^^1^555^0100001|||0002^SCHEDULER^EXAMPLE||||0001^DOCTOR^EXAMPLE|||||Booked^Booked^HL70278`,
	`NTE|1||Video visit; patient to test camera beforehand`,
	`PID|1||TEST0002^^^GOODHEALTH^MR||TESTPATIENT^DELTA^^^^^L||19900202|M|||2 Example Ave^^Springfield^ST^00000^USA^H`,
	`PV1|1|O|TELE^^^GOODHEALTH||||0001^DOCTOR^EXAMPLE^^^^^^NPI`,
	`RGS|1|A`,
	`AIS|1|A|TELEVISIT^Video visit^LOCAL|20260105100000|||30|MIN`,
	`NTE|2||Second note \E\ with escape`,
	`AIG|1|A|ROOM1^Virtual room^LOCAL`,
	`AIL|1|A|VIRTUAL^^^GOODHEALTH|TELE^Telehealth^LOCAL`,
	`AIP|1|A|0001^DOCTOR^EXAMPLE^^^^^^NPI|PHY^Physician^HL70443|||30|MIN`,
	`ZSC|1|https://video.example/room/0001|TOKEN0001`,
)
