package model

import (
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/teslaops/tesla/internal/fault"
)

// Node kinds as they appear inside global ids.
const (
	KindBU             = "BU"
	KindPerson         = "Person"
	KindCluster        = "Cluster"
	KindHost           = "Host"
	KindStack          = "Stack"
	KindStackVersion   = "StackVersion"
	KindServicePackage = "ServicePackage"
	KindAuditEntry     = "AuditEntry"
	KindAPIToken       = "ApiToken"
	KindAnomaly        = "Anomaly"
)

// GlobalID encodes an opaque global id: base64url of "Kind:id". Clients must treat
// it as opaque; the encoding only has to be stable.
func GlobalID(kind string, id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(kind + ":" + strconv.FormatInt(id, 10)))
}

// DecodeGlobalID returns the kind and database id in a global id.
func DecodeGlobalID(field, gid string) (string, int64, error) {
	raw, err := base64.RawURLEncoding.DecodeString(gid)
	if err == nil {
		if kind, num, ok := strings.Cut(string(raw), ":"); ok {
			if id, err := strconv.ParseInt(num, 10, 64); err == nil && id > 0 {
				return kind, id, nil
			}
		}
	}
	return "", 0, fault.Field(field, "%s is not a valid id", field)
}

// ParseID decodes a global id that must be of the given kind.
func ParseID(field, gid, kind string) (int64, error) {
	k, id, err := DecodeGlobalID(field, gid)
	if err != nil {
		return 0, err
	}
	if k != kind {
		return 0, fault.Field(field, "%s is the id of a %s, not of a %s", field, k, kind)
	}
	return id, nil
}

// ParseOptionalID decodes an optional global id.
func ParseOptionalID(field string, gid *string, kind string) (*int64, error) {
	if gid == nil {
		return nil, nil
	}
	id, err := ParseID(field, *gid, kind)
	if err != nil {
		return nil, err
	}
	return &id, nil
}
