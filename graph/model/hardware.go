package model

import "time"

// Node kinds of the hardware schema.
const (
	KindHardwareFault = "HardwareFault"
	KindRepairTicket  = "RepairTicket"
)

// HardwareFault is a host's hardware fault; its host, ticket and reporter are
// loaded when asked.
type HardwareFault struct {
	ID           string            `json:"id"`
	DBID         int64             `json:"-"`
	HostID       int64             `json:"-"`
	TicketID     *int64            `json:"-"`
	ReportedByID *int64            `json:"-"`
	Component    HardwareComponent `json:"component"`
	Kind         string            `json:"kind"`
	Severity     FaultSeverity     `json:"severity"`
	DetectedAt   time.Time         `json:"detectedAt"`
	Source       FaultSource       `json:"source"`
	SourceRef    *string           `json:"sourceRef"`
	Detail       string            `json:"detail"`
	Status       RepairState       `json:"status"`
	CreatedAt    time.Time         `json:"createdAt"`
}

// IsNode marks HardwareFault as a Node.
func (HardwareFault) IsNode() {}

// GetID returns the global id.
func (f HardwareFault) GetID() string { return f.ID }

// RepairTicket is a repair ticket; its host, people, faults and history are
// loaded when asked.
type RepairTicket struct {
	ID              string        `json:"id"`
	DBID            int64         `json:"-"`
	HostID          int64         `json:"-"`
	OpenedByID      *int64        `json:"-"`
	AssigneeID      *int64        `json:"-"`
	State           RepairState   `json:"state"`
	OpenedAt        time.Time     `json:"openedAt"`
	UpdatedAt       time.Time     `json:"updatedAt"`
	ClosedAt        *time.Time    `json:"closedAt"`
	HostStateBefore string        `json:"hostStateBefore"`
	NextStates      []RepairState `json:"nextStates"`
}

// IsNode marks RepairTicket as a Node.
func (RepairTicket) IsNode() {}

// GetID returns the global id.
func (t RepairTicket) GetID() string { return t.ID }

// RepairTicketEvent is one step of a ticket.
type RepairTicketEvent struct {
	PersonID  *int64      `json:"-"`
	At        time.Time   `json:"at"`
	Actor     string      `json:"actor"`
	FromState string      `json:"fromState"`
	ToState   RepairState `json:"toState"`
	Note      string      `json:"note"`
}

// ReplacementCandidate is a host ranked for replacement; the host is loaded
// when asked.
type ReplacementCandidate struct {
	HostID        int64      `json:"-"`
	Model         string     `json:"model"`
	ModelRate     float64    `json:"modelRate"`
	AgeYears      *float64   `json:"ageYears"`
	AgeFactor     float64    `json:"ageFactor"`
	WarrantyEnd   *time.Time `json:"warrantyEnd"`
	OutOfWarranty bool       `json:"outOfWarranty"`
	RecentFaults  int        `json:"recentFaults"`
	Faults        int        `json:"faults"`
	Score         float64    `json:"score"`
}
