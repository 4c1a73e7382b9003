package model

import "time"

// RateCard is a rate card; its cluster is resolved through the loader.
type RateCard struct {
	ID               string
	ClusterKind      *ClusterKind
	ClusterID        *int64
	ValidFrom        time.Time
	ValidTo          *time.Time
	CoreHour         Decimal
	MemoryGbHour     Decimal
	OverheadPerMonth Decimal
	// Storage is storageTbDay, served by its resolver.
	Storage   Decimal
	Note      string
	UpdatedAt time.Time
}

// KindRateCard is the global id kind of rate cards.
const KindRateCard = "RateCard"
