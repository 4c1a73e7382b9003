package inventory

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/inventory/dbsqlc"
)

// Administration: BUs, people, clusters and hosts created and changed by people
// (the GraphQL mutations) rather than by the platform. The rules:
//
//   - BUs and clusters: ADMIN.
//   - People: ADMIN anywhere; a BU admin (a BU_ADMIN credential, not merely a
//     role at least BU_ADMIN) inside their own BU subtree — both the old and the
//     new BU of a move — for people whose role is no higher than their own, and
//     granting no role above their own. OPERATORs read people but do not manage
//     them: running the platform is not managing the organisation.
//   - Hosts: registering needs ADMIN (it is inventory); moving and retiring need
//     OPERATOR, as changing a host's state does.
//
// Every method is audited, refusals (DENIED) and failures included.

// maxBatch bounds the hosts one mutation registers, moves or retires.
const maxBatch = 10000

// CreateBUInput asks for a new BU.
type CreateBUInput struct {
	Name     string `json:"name"`
	Code     string `json:"code"`
	ParentID *int64 `json:"parentId,omitempty"`
}

// CreateBU creates a BU, as a root or under an active parent. ADMIN only.
func (s *Service) CreateBU(ctx context.Context, in CreateBUInput) (*BU, error) {
	var id int64
	err := s.audit.Do(ctx, "createBU", "bu:"+in.Code, in, func(tx pgx.Tx) error {
		if _, err := auth.RequireRole(ctx, auth.Admin, "managing BUs"); err != nil {
			return err
		}
		if err := CheckName("input.name", in.Name, 200); err != nil {
			return err
		}
		if err := CheckBUCode("input.code", in.Code); err != nil {
			return err
		}
		if in.ParentID != nil {
			parent, err := queries.BUForUpdate(ctx, tx, *in.ParentID)
			if errors.Is(err, pgx.ErrNoRows) {
				return notFoundField("input.parentId", "parent BU not found")
			}
			if err != nil {
				return fmt.Errorf("error loading BU %d: %w", *in.ParentID, err)
			}
			if !parent.Active {
				return fault.Field("input.parentId", "BU %s is deactivated; a new BU cannot go under it", parent.Code)
			}
		}
		var err error
		id, err = InsertBU(ctx, tx, in.ParentID, in.Name, in.Code)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.buByID(ctx, id)
}

// InsertBU writes a new BU, with no access check: the caller checked. A taken
// code is a Conflict on input.code.
func InsertBU(ctx context.Context, dbtx db.DBTX, parent *int64, name, code string) (int64, error) {
	id, err := queries.BUInsert(ctx, dbtx, &dbsqlc.BUInsertParams{ParentID: parent, Name: name, Code: code})
	if err != nil {
		return 0, uniqueConflict(fmt.Errorf("error creating BU %s: %w", code, err), "input.code", "BU code %s is taken", code)
	}
	return id, nil
}

// UpdateBUInput changes a BU; nil fields stay as they are.
type UpdateBUInput struct {
	ID       int64   `json:"id"`
	Name     *string `json:"name,omitempty"`
	Code     *string `json:"code,omitempty"`
	ParentID *int64  `json:"parentId,omitempty"`
	MakeRoot bool    `json:"makeRoot,omitempty"`
}

// UpdateBU renames a BU, changes its code or moves it in the tree; a move under
// the BU itself or its own subtree is refused, naming the cycle. ADMIN only.
func (s *Service) UpdateBU(ctx context.Context, in UpdateBUInput) (*BU, error) {
	err := s.audit.Do(ctx, "updateBU", fmt.Sprintf("bu:%d", in.ID), in, func(tx pgx.Tx) error {
		if _, err := auth.RequireRole(ctx, auth.Admin, "managing BUs"); err != nil {
			return err
		}
		cur, err := queries.BUForUpdate(ctx, tx, in.ID)
		if errors.Is(err, pgx.ErrNoRows) {
			return notFoundField("input.id", "BU not found")
		}
		if err != nil {
			return fmt.Errorf("error loading BU %d: %w", in.ID, err)
		}
		next := *cur
		if in.Name != nil {
			if err := CheckName("input.name", *in.Name, 200); err != nil {
				return err
			}
			next.Name = *in.Name
		}
		if in.Code != nil {
			if err := CheckBUCode("input.code", *in.Code); err != nil {
				return err
			}
			next.Code = *in.Code
		}
		switch {
		case in.ParentID != nil:
			next.ParentID = in.ParentID
			if err := activeBU(ctx, tx, "input.parentId", *in.ParentID); err != nil {
				return err
			}
			if err := checkBUParent(ctx, tx, cur.ID, cur.Code, *in.ParentID); err != nil {
				return err
			}
		case in.MakeRoot:
			next.ParentID = nil
		}
		return UpdateBU(ctx, tx, next.ID, next.ParentID, next.Name, next.Code, next.Active)
	})
	if err != nil {
		return nil, err
	}
	return s.buByID(ctx, in.ID)
}

// checkBUParent refuses parent as the new parent of BU id when it is missing or
// lies in id's own subtree, naming the cycle the move would make.
func checkBUParent(ctx context.Context, tx db.DBTX, id int64, code string, parent int64) error {
	chain, err := queries.BUAncestors(ctx, tx, parent)
	if err != nil {
		return fmt.Errorf("error loading ancestors of BU %d: %w", parent, err)
	}
	if len(chain) == 0 {
		return notFoundField("input.parentId", "parent BU not found")
	}
	path := []string{code}
	for i := len(chain) - 1; i >= 0; i-- {
		if chain[i].ID == id {
			for j := i - 1; j >= 0; j-- {
				path = append(path, chain[j].Code)
			}
			path = append(path, code)
			return fault.Field("input.parentId", "moving BU %s under %s would make a cycle: %s", code, chain[0].Code, strings.Join(path, " → "))
		}
	}
	return nil
}

// UpdateBU writes a BU's fields, with no access check: the caller checked.
func UpdateBU(ctx context.Context, dbtx db.DBTX, id int64, parent *int64, name, code string, active bool) error {
	err := queries.BUUpdate(ctx, dbtx, &dbsqlc.BUUpdateParams{ID: id, ParentID: parent, Name: name, Code: code, Active: active})
	if err != nil {
		return uniqueConflict(fmt.Errorf("error updating BU %d: %w", id, err), "input.code", "BU code %s is taken", code)
	}
	return nil
}

// DeactivateBU deactivates a BU with no active sub-BUs, active people or
// clusters that are not retired. ADMIN only.
func (s *Service) DeactivateBU(ctx context.Context, id int64) (*BU, error) {
	err := s.audit.Do(ctx, "deactivateBU", fmt.Sprintf("bu:%d", id), map[string]int64{"id": id}, func(tx pgx.Tx) error {
		if _, err := auth.RequireRole(ctx, auth.Admin, "managing BUs"); err != nil {
			return err
		}
		cur, err := queries.BUForUpdate(ctx, tx, id)
		if errors.Is(err, pgx.ErrNoRows) {
			return notFoundField("input.id", "BU not found")
		}
		if err != nil {
			return fmt.Errorf("error loading BU %d: %w", id, err)
		}
		if !cur.Active {
			return fault.New(fault.Conflict, "BU %s is already deactivated", cur.Code)
		}
		if err := CheckBUEmpty(ctx, tx, id, cur.Code); err != nil {
			return err
		}
		return UpdateBU(ctx, tx, id, cur.ParentID, cur.Name, cur.Code, false)
	})
	if err != nil {
		return nil, err
	}
	return s.buByID(ctx, id)
}

// CheckBUEmpty refuses, as a Conflict naming how many of each, a BU that still
// has active sub-BUs, active people or clusters that are not retired.
func CheckBUEmpty(ctx context.Context, dbtx db.DBTX, id int64, code string) error {
	d, err := queries.BUDependents(ctx, dbtx, &id)
	if err != nil {
		return fmt.Errorf("error counting what BU %d holds: %w", id, err)
	}
	if d.Bus+d.People+d.Clusters > 0 {
		return fault.New(fault.Conflict, "BU %s still has %d active sub-BUs, %d active people and %d clusters that are not retired; move or deactivate them first",
			code, d.Bus, d.People, d.Clusters)
	}
	return nil
}

func (s *Service) buByID(ctx context.Context, id int64) (*BU, error) {
	m, err := s.BUsByIDs(ctx, []int64{id})
	if err != nil {
		return nil, err
	}
	if m[id] == nil {
		return nil, fault.NotFoundf("BU not found")
	}
	return m[id], nil
}

// CreatePersonInput asks for a new person.
type CreatePersonInput struct {
	Login string    `json:"login"`
	Name  string    `json:"name"`
	Email string    `json:"email,omitempty"`
	BUID  int64     `json:"buId"`
	Role  auth.Role `json:"role"`
}

// mayManagePeople refuses p unless p may manage a person in each of bus holding
// role (the person's current and new role): ADMIN anywhere, a BU admin inside
// their own subtree up to their own role. It tests the credential's role itself:
// an OPERATOR passes Is(BUAdmin) but is no BU admin.
func mayManagePeople(p *auth.Principal, roles []auth.Role, bus ...int64) error {
	switch {
	case p.Is(auth.Admin):
		return nil
	case p.Role == auth.BUAdmin:
		for _, b := range bus {
			if !p.InBUSubtree(b) {
				return fault.Forbiddenf("BU admins manage only the people of their own BU subtree")
			}
		}
		for _, r := range roles {
			if !p.Role.AtLeast(r) {
				return fault.Forbiddenf("you cannot manage a person with role %s: it is above your own (%s)", r, p.Role)
			}
		}
		return nil
	case p.Role == auth.Operator:
		return fault.Forbiddenf("operators read people but do not manage them; ask an admin or the person's BU admin")
	}
	return fault.Forbiddenf("managing people needs role ADMIN, or BU_ADMIN within your own BU subtree; you have %s", p.Role)
}

// activeBU refuses a BU that is missing or deactivated, naming field.
func activeBU(ctx context.Context, tx db.DBTX, field string, id int64) error {
	b, err := queries.BUForUpdate(ctx, tx, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return notFoundField(field, "BU not found")
	}
	if err != nil {
		return fmt.Errorf("error loading BU %d: %w", id, err)
	}
	if !b.Active {
		return fault.Field(field, "BU %s is deactivated", b.Code)
	}
	return nil
}

// CreatePerson creates a person (see the rules above).
func (s *Service) CreatePerson(ctx context.Context, in CreatePersonInput) (*Person, error) {
	var person *Person
	if in.Role == "" {
		in.Role = auth.Viewer
	}
	err := s.audit.Do(ctx, "createPerson", "person:"+in.Login, in, func(tx pgx.Tx) error {
		p, err := auth.Require(ctx)
		if err != nil {
			return err
		}
		if err := CheckRole("input.role", in.Role); err != nil {
			return err
		}
		if err := mayManagePeople(p, []auth.Role{in.Role}, in.BUID); err != nil {
			return err
		}
		if err := CheckLogin("input.login", in.Login); err != nil {
			return err
		}
		if err := CheckName("input.name", in.Name, 200); err != nil {
			return err
		}
		if err := CheckEmail("input.email", in.Email); err != nil {
			return err
		}
		if err := activeBU(ctx, tx, "input.buId", in.BUID); err != nil {
			return err
		}
		person, err = InsertPerson(ctx, tx, in)
		return err
	})
	return person, err
}

// InsertPerson writes a new person, with no access check: the caller checked.
func InsertPerson(ctx context.Context, dbtx db.DBTX, in CreatePersonInput) (*Person, error) {
	row, err := queries.PersonInsert(ctx, dbtx, &dbsqlc.PersonInsertParams{Login: in.Login, Name: in.Name, Email: in.Email, BuID: in.BUID, Role: in.Role})
	if err != nil {
		return nil, uniqueConflict(fmt.Errorf("error creating person %s: %w", in.Login, err), "input.login", "login %s is taken", in.Login)
	}
	return personFromRow(row), nil
}

// UpdatePersonInput changes a person; nil fields stay as they are.
type UpdatePersonInput struct {
	ID    int64      `json:"id"`
	Name  *string    `json:"name,omitempty"`
	Email *string    `json:"email,omitempty"`
	Role  *auth.Role `json:"role,omitempty"`
	BUID  *int64     `json:"buId,omitempty"`
}

// UpdatePerson changes a person's name, email, role or BU, with createPerson's
// rights on both the old and the new BU and role. The last active ADMIN keeps
// the role.
func (s *Service) UpdatePerson(ctx context.Context, in UpdatePersonInput) (*Person, error) {
	var person *Person
	err := s.audit.Do(ctx, "updatePerson", fmt.Sprintf("person:%d", in.ID), in, func(tx pgx.Tx) error {
		p, err := auth.Require(ctx)
		if err != nil {
			return err
		}
		cur, err := s.personForUpdate(ctx, tx, p, in.ID)
		if err != nil {
			return err
		}
		next := *cur
		if in.Role != nil {
			if err := CheckRole("input.role", *in.Role); err != nil {
				return err
			}
			next.Role = *in.Role
		}
		if in.BUID != nil {
			next.BUID = *in.BUID
		}
		if err := mayManagePeople(p, []auth.Role{cur.Role, next.Role}, cur.BUID, next.BUID); err != nil {
			return err
		}
		if in.Name != nil {
			if err := CheckName("input.name", *in.Name, 200); err != nil {
				return err
			}
			next.Name = *in.Name
		}
		if in.Email != nil {
			if err := CheckEmail("input.email", *in.Email); err != nil {
				return err
			}
			next.Email = *in.Email
		}
		if next.BUID != cur.BUID {
			if err := activeBU(ctx, tx, "input.buId", next.BUID); err != nil {
				return err
			}
		}
		if cur.Role == auth.Admin && next.Role != auth.Admin && cur.Active {
			if err := KeepAnAdmin(ctx, tx, cur.ID, cur.Login); err != nil {
				return err
			}
		}
		person, err = UpdatePerson(ctx, tx, &next)
		return err
	})
	return person, err
}

// personForUpdate locks a person for a change, refusing (as NotFound, like a
// missing one) a caller who may not even read them.
func (s *Service) personForUpdate(ctx context.Context, tx db.DBTX, p *auth.Principal, id int64) (*Person, error) {
	row, err := queries.PersonForUpdate(ctx, tx, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFoundField("input.id", "person not found")
	}
	if err != nil {
		return nil, fmt.Errorf("error loading person %d: %w", id, err)
	}
	cur := personFromRow(row)
	if !canSeePerson(p, cur.ID, cur.BUID) {
		// Refused, not "not found": the caller is told they lack the right,
		// which the audit log records as DENIED.
		return nil, fault.Forbiddenf("you may not manage person %s: BU admins manage only their own BU subtree", cur.Login)
	}
	return cur, nil
}

// UpdatePerson writes a person's fields (active included), with no access
// check: the caller checked. Deactivating ends the person's credentials in the
// same transaction.
func UpdatePerson(ctx context.Context, dbtx db.DBTX, next *Person) (*Person, error) {
	row, err := queries.PersonUpdate(ctx, dbtx, &dbsqlc.PersonUpdateParams{ID: next.ID, Name: next.Name, Email: next.Email,
		BuID: next.BUID, Role: next.Role, Active: next.Active})
	if err != nil {
		return nil, fmt.Errorf("error updating person %s: %w", next.Login, err)
	}
	if !next.Active {
		if _, _, err := auth.EndCredentials(ctx, dbtx, next.ID); err != nil {
			return nil, err
		}
	}
	return personFromRow(row), nil
}

// KeepAnAdmin refuses, as a Conflict, to take person (an active ADMIN) out of
// the admins when they are the last one: nobody could manage Tesla any more.
func KeepAnAdmin(ctx context.Context, dbtx db.DBTX, person int64, login string) error {
	ids, err := queries.ActiveAdminsLock(ctx, dbtx)
	if err != nil {
		return fmt.Errorf("error counting admins: %w", err)
	}
	for _, id := range ids {
		if id != person {
			return nil
		}
	}
	return fault.New(fault.Conflict, "%s is the last active ADMIN; make someone else ADMIN first", login)
}

// DeactivatePersonInput asks to deactivate a person.
type DeactivatePersonInput struct {
	ID     int64  `json:"id"`
	Reason string `json:"reason,omitempty"`
	// Ended reports, for the audit log, how many tokens and sessions ended.
	TokensRevoked int64 `json:"tokensRevoked"`
	SessionsEnded int64 `json:"sessionsEnded"`
}

// DeactivatePerson deactivates a person: in the same transaction their API
// tokens are revoked and their web sessions end, so none of their credentials
// works a moment later. Nobody deactivates themselves, and the last active ADMIN
// stays.
func (s *Service) DeactivatePerson(ctx context.Context, in DeactivatePersonInput) (*Person, error) {
	var person *Person
	err := s.audit.Do(ctx, "deactivatePerson", fmt.Sprintf("person:%d", in.ID), &in, func(tx pgx.Tx) error {
		p, err := auth.Require(ctx)
		if err != nil {
			return err
		}
		if len(in.Reason) > 500 {
			return fault.Field("input.reason", "reason is limited to 500 characters")
		}
		cur, err := s.personForUpdate(ctx, tx, p, in.ID)
		if err != nil {
			return err
		}
		if err := mayManagePeople(p, []auth.Role{cur.Role}, cur.BUID); err != nil {
			return err
		}
		if cur.ID == p.PersonID {
			return fault.Field("input.id", "you cannot deactivate yourself")
		}
		if !cur.Active {
			return fault.New(fault.Conflict, "%s is already deactivated", cur.Login)
		}
		if cur.Role == auth.Admin {
			if err := KeepAnAdmin(ctx, tx, cur.ID, cur.Login); err != nil {
				return err
			}
		}
		next := *cur
		next.Active = false
		if _, err = queries.PersonUpdate(ctx, tx, &dbsqlc.PersonUpdateParams{ID: next.ID, Name: next.Name, Email: next.Email,
			BuID: next.BUID, Role: next.Role, Active: false}); err != nil {
			return fmt.Errorf("error deactivating person %s: %w", cur.Login, err)
		}
		if in.TokensRevoked, in.SessionsEnded, err = auth.EndCredentials(ctx, tx, cur.ID); err != nil {
			return err
		}
		person = &next
		return nil
	})
	return person, err
}

// CreateClusterInput asks for a new cluster.
type CreateClusterInput struct {
	Name           string `json:"name"`
	Region         string `json:"region"`
	Kind           string `json:"kind"`
	OwnerBUID      *int64 `json:"ownerBuId,omitempty"`
	StackVersionID *int64 `json:"stackVersionId,omitempty"`
	Description    string `json:"description,omitempty"`
}

// checkCluster refuses a cluster's fields as they would be written.
func checkCluster(ctx context.Context, tx db.DBTX, c *Cluster) error {
	if err := CheckClusterName("input.name", c.Name); err != nil {
		return err
	}
	if err := CheckName("input.region", c.Region, 100); err != nil {
		return err
	}
	if err := CheckClusterKind("input.kind", c.Kind); err != nil {
		return err
	}
	if len(c.Description) > 2000 {
		return fault.Field("input.description", "description is limited to 2000 characters")
	}
	if c.OwnerBUID != nil {
		if err := activeBU(ctx, tx, "input.ownerBuId", *c.OwnerBUID); err != nil {
			return err
		}
	}
	if c.StackVersionID != nil {
		n, err := queries.StackVersionExists(ctx, tx, *c.StackVersionID)
		if err != nil {
			return fmt.Errorf("error loading stack version: %w", err)
		}
		if n == 0 {
			return notFoundField("input.stackVersionId", "stack version not found")
		}
	}
	return nil
}

// CreateCluster creates a cluster. ADMIN only.
func (s *Service) CreateCluster(ctx context.Context, in CreateClusterInput) (*Cluster, error) {
	var cluster *Cluster
	err := s.audit.Do(ctx, "createCluster", "cluster:"+in.Name, in, func(tx pgx.Tx) error {
		if _, err := auth.RequireRole(ctx, auth.Admin, "managing clusters"); err != nil {
			return err
		}
		c := &Cluster{Name: in.Name, Region: in.Region, Kind: in.Kind, OwnerBUID: in.OwnerBUID, StackVersionID: in.StackVersionID, Description: in.Description}
		if err := checkCluster(ctx, tx, c); err != nil {
			return err
		}
		var err error
		cluster, err = InsertCluster(ctx, tx, c)
		return err
	})
	return cluster, err
}

// InsertCluster writes a new cluster, with no access check: the caller checked.
func InsertCluster(ctx context.Context, dbtx db.DBTX, c *Cluster) (*Cluster, error) {
	row, err := queries.ClusterInsert(ctx, dbtx, &dbsqlc.ClusterInsertParams{Name: c.Name, Region: c.Region, Kind: c.Kind,
		OwnerBuID: c.OwnerBUID, StackVersionID: c.StackVersionID, Description: c.Description})
	if err != nil {
		return nil, uniqueConflict(fmt.Errorf("error creating cluster %s: %w", c.Name, err), "input.name", "cluster name %s is taken", c.Name)
	}
	return clusterFromRow(row), nil
}

// UpdateCluster writes a cluster's fields (status included), with no access
// check: the caller checked.
func UpdateCluster(ctx context.Context, dbtx db.DBTX, c *Cluster) (*Cluster, error) {
	row, err := queries.ClusterUpdate(ctx, dbtx, &dbsqlc.ClusterUpdateParams{ID: c.ID, Name: c.Name, Region: c.Region, Kind: c.Kind,
		OwnerBuID: c.OwnerBUID, StackVersionID: c.StackVersionID, Description: c.Description, Status: c.Status})
	if err != nil {
		return nil, uniqueConflict(fmt.Errorf("error updating cluster %s: %w", c.Name, err), "input.name", "cluster name %s is taken", c.Name)
	}
	return clusterFromRow(row), nil
}

// UpdateClusterInput changes a cluster; nil fields stay as they are.
type UpdateClusterInput struct {
	ID             int64   `json:"id"`
	Name           *string `json:"name,omitempty"`
	Region         *string `json:"region,omitempty"`
	Kind           *string `json:"kind,omitempty"`
	OwnerBUID      *int64  `json:"ownerBuId,omitempty"`
	StackVersionID *int64  `json:"stackVersionId,omitempty"`
	Description    *string `json:"description,omitempty"`
}

// UpdateCluster changes a cluster's attributes. ADMIN only.
func (s *Service) UpdateCluster(ctx context.Context, in UpdateClusterInput) (*Cluster, error) {
	var cluster *Cluster
	err := s.audit.Do(ctx, "updateCluster", fmt.Sprintf("cluster:%d", in.ID), in, func(tx pgx.Tx) error {
		if _, err := auth.RequireRole(ctx, auth.Admin, "managing clusters"); err != nil {
			return err
		}
		cur, err := clusterForUpdate(ctx, tx, in.ID)
		if err != nil {
			return err
		}
		next := *cur
		set := func(dst *string, v *string) {
			if v != nil {
				*dst = *v
			}
		}
		set(&next.Name, in.Name)
		set(&next.Region, in.Region)
		set(&next.Kind, in.Kind)
		set(&next.Description, in.Description)
		if in.OwnerBUID != nil {
			next.OwnerBUID = in.OwnerBUID
		}
		if in.StackVersionID != nil {
			next.StackVersionID = in.StackVersionID
		}
		// The owner is checked only when it changes: a cluster of a BU
		// deactivated since keeps its owner through an unrelated edit.
		check := next
		if in.OwnerBUID == nil {
			check.OwnerBUID = nil
		}
		if err := checkCluster(ctx, tx, &check); err != nil {
			return err
		}
		cluster, err = UpdateCluster(ctx, tx, &next)
		return err
	})
	return cluster, err
}

func clusterForUpdate(ctx context.Context, tx db.DBTX, id int64) (*Cluster, error) {
	row, err := queries.ClusterForUpdate(ctx, tx, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFoundField("input.id", "cluster not found")
	}
	if err != nil {
		return nil, fmt.Errorf("error loading cluster %d: %w", id, err)
	}
	return clusterFromRow(row), nil
}

// RetireClusterInput asks to retire a cluster.
type RetireClusterInput struct {
	ID     int64  `json:"id"`
	Reason string `json:"reason,omitempty"`
}

// RetireCluster sets a cluster RETIRED once all its hosts are decommissioned.
// The reason is kept in the audit log. ADMIN only.
func (s *Service) RetireCluster(ctx context.Context, in RetireClusterInput) (*Cluster, error) {
	var cluster *Cluster
	err := s.audit.Do(ctx, "retireCluster", fmt.Sprintf("cluster:%d", in.ID), in, func(tx pgx.Tx) error {
		if _, err := auth.RequireRole(ctx, auth.Admin, "managing clusters"); err != nil {
			return err
		}
		if len(in.Reason) > 500 {
			return fault.Field("input.reason", "reason is limited to 500 characters")
		}
		cur, err := clusterForUpdate(ctx, tx, in.ID)
		if err != nil {
			return err
		}
		if cur.Status == "RETIRED" {
			return fault.New(fault.Conflict, "cluster %s is already retired", cur.Name)
		}
		if err := CheckClusterEmpty(ctx, tx, cur.ID, cur.Name); err != nil {
			return err
		}
		cur.Status = "RETIRED"
		cluster, err = UpdateCluster(ctx, tx, cur)
		return err
	})
	return cluster, err
}

// CheckClusterEmpty refuses, as a Conflict saying how many, a cluster that still
// has hosts not decommissioned.
func CheckClusterEmpty(ctx context.Context, dbtx db.DBTX, id int64, name string) error {
	n, err := queries.ClusterLiveHosts(ctx, dbtx, id)
	if err != nil {
		return fmt.Errorf("error counting hosts of cluster %s: %w", name, err)
	}
	if n > 0 {
		return fault.New(fault.Conflict, "cluster %s still has %d hosts that are not DECOMMISSIONED; retire or move them first", name, n)
	}
	return nil
}

// HostSpec is one host to register.
type HostSpec struct {
	Hostname string `json:"hostname"`
	HostFacts
}

// RegisterHostsInput asks to register hosts into a cluster.
type RegisterHostsInput struct {
	ClusterID int64      `json:"clusterId"`
	Hosts     []HostSpec `json:"hosts"`
	// Refused counts, for the audit log, the entries refused.
	Refused int `json:"refused"`
}

// RegisterHostsResult is what RegisterHosts did: the hosts registered or
// updated in input order, and one error per refused entry (its Field names the
// entry, "input.hosts.<index>…").
type RegisterHostsResult struct {
	Hosts            []*Host
	Created, Updated int
	Refused          []*fault.Error
}

// RegisterHosts registers hosts into a cluster by hostname, with any hardware
// facts given (the others unknown, 0, until the host's agent reports them). A
// hostname already in the cluster is updated with the facts given; one in
// another cluster is refused, naming that cluster. The valid entries are
// registered even when others are refused. ADMIN only.
func (s *Service) RegisterHosts(ctx context.Context, in RegisterHostsInput) (*RegisterHostsResult, error) {
	res := &RegisterHostsResult{}
	err := s.audit.Do(ctx, "registerHosts", fmt.Sprintf("cluster:%d", in.ClusterID), &in, func(tx pgx.Tx) error {
		if _, err := auth.RequireRole(ctx, auth.Admin, "registering hosts"); err != nil {
			return err
		}
		if len(in.Hosts) == 0 || len(in.Hosts) > maxBatch {
			return fault.Field("input.hosts", "give between 1 and %d hosts, not %d", maxBatch, len(in.Hosts))
		}
		cluster, err := liveCluster(ctx, tx, "input.clusterId", in.ClusterID)
		if err != nil {
			return err
		}
		names := make([]string, len(in.Hosts))
		for i, h := range in.Hosts {
			names[i] = h.Hostname
		}
		existing, err := hostsByName(ctx, tx, names)
		if err != nil {
			return err
		}
		clusterNames, err := clusterNamesOf(ctx, tx, existing)
		if err != nil {
			return err
		}
		seen := map[string]int{}
		for i, h := range in.Hosts {
			field := fmt.Sprintf("input.hosts.%d", i)
			refuse := func(err error) {
				if fe, ok := fault.As(err); ok {
					res.Refused = append(res.Refused, fe)
				}
			}
			if err := CheckHostname(field+".hostname", h.Hostname); err != nil {
				refuse(err)
				continue
			}
			if j, dup := seen[h.Hostname]; dup {
				refuse(fault.Field(field+".hostname", "%s is listed twice (entries %d and %d)", h.Hostname, j, i))
				continue
			}
			seen[h.Hostname] = i
			if err := h.Check(field); err != nil {
				refuse(err)
				continue
			}
			cur := existing[h.Hostname]
			if cur == nil {
				host, err := InsertHost(ctx, tx, cluster.ID, h)
				if err != nil {
					return err
				}
				res.Hosts = append(res.Hosts, host)
				res.Created++
				continue
			}
			if cur.ClusterID != cluster.ID {
				refuse(&fault.Error{Kind: fault.Conflict, Field: field + ".hostname",
					Message: fmt.Sprintf("%s is registered in cluster %s; move it with moveHosts", h.Hostname, clusterNames[cur.ClusterID])})
				continue
			}
			next, changed := h.Apply(cur)
			if len(changed) == 0 {
				res.Hosts = append(res.Hosts, cur)
				continue
			}
			host, err := UpdateHostFacts(ctx, tx, &next)
			if err != nil {
				return err
			}
			res.Hosts = append(res.Hosts, host)
			res.Updated++
		}
		in.Refused = len(res.Refused)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// liveCluster loads a cluster that is not retired, naming field when it is
// missing or retired.
func liveCluster(ctx context.Context, tx db.DBTX, field string, id int64) (*Cluster, error) {
	row, err := queries.ClusterForUpdate(ctx, tx, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFoundField(field, "cluster not found")
	}
	if err != nil {
		return nil, fmt.Errorf("error loading cluster %d: %w", id, err)
	}
	if row.Status == "RETIRED" {
		return nil, fault.Field(field, "cluster %s is retired", row.Name)
	}
	return clusterFromRow(row), nil
}

func hostsByName(ctx context.Context, tx db.DBTX, names []string) (map[string]*Host, error) {
	rows, err := queries.HostsByNames(ctx, tx, names)
	if err != nil {
		return nil, fmt.Errorf("error loading hosts: %w", err)
	}
	out := make(map[string]*Host, len(rows))
	for _, r := range rows {
		out[r.Hostname] = hostFromRow(r)
	}
	return out, nil
}

func clusterNamesOf(ctx context.Context, tx db.DBTX, hosts map[string]*Host) (map[int64]string, error) {
	var ids []int64
	for _, h := range hosts {
		ids = append(ids, h.ClusterID)
	}
	rows, err := queries.ClustersByIDs(ctx, tx, ids)
	if err != nil {
		return nil, fmt.Errorf("error loading clusters: %w", err)
	}
	out := make(map[int64]string, len(rows))
	for _, r := range rows {
		out[r.ID] = r.Name
	}
	return out, nil
}

// InsertHost writes a new host into cluster, with no access check: the caller
// checked. Facts left out are unknown (0 or empty).
func InsertHost(ctx context.Context, dbtx db.DBTX, cluster int64, h HostSpec) (*Host, error) {
	next, _ := h.Apply(&Host{})
	row, err := queries.HostInsert(ctx, dbtx, &dbsqlc.HostInsertParams{ClusterID: cluster, Hostname: h.Hostname, Rack: next.Rack, Ip: next.IP,
		CpuCores: int32(next.CPUCores), MemoryBytes: next.MemoryBytes, DiskBytes: next.DiskBytes, NicBps: next.NICBps,
		Os: next.OS, Kernel: next.Kernel, Model: next.Model})
	if err != nil {
		return nil, uniqueConflict(fmt.Errorf("error registering host %s: %w", h.Hostname, err), "input.hostname", "hostname %s is taken", h.Hostname)
	}
	return hostFromRow(row), nil
}

// UpdateHostFacts writes a host's cluster and facts, with no access check: the
// caller checked.
func UpdateHostFacts(ctx context.Context, dbtx db.DBTX, h *Host) (*Host, error) {
	row, err := queries.HostUpdateFacts(ctx, dbtx, &dbsqlc.HostUpdateFactsParams{ID: h.ID, ClusterID: h.ClusterID, Rack: h.Rack, Ip: h.IP,
		CpuCores: int32(h.CPUCores), MemoryBytes: h.MemoryBytes, DiskBytes: h.DiskBytes, NicBps: h.NICBps, Os: h.OS, Kernel: h.Kernel, Model: h.Model})
	if err != nil {
		return nil, fmt.Errorf("error updating host %s: %w", h.Hostname, err)
	}
	return hostFromRow(row), nil
}

// MoveHostsInput asks to move hosts to a cluster.
type MoveHostsInput struct {
	HostIDs   []int64 `json:"hostIds"`
	ClusterID int64   `json:"clusterId"`
}

// lockHosts locks hosts by id, refusing an empty or oversized list and naming
// the ids that do not exist.
func lockHosts(ctx context.Context, tx db.DBTX, ids []int64) ([]*Host, error) {
	if len(ids) == 0 || len(ids) > maxBatch {
		return nil, fault.Field("input.hostIds", "give between 1 and %d hosts, not %d", maxBatch, len(ids))
	}
	rows, err := queries.HostsForUpdate(ctx, tx, ids)
	if err != nil {
		return nil, fmt.Errorf("error loading hosts: %w", err)
	}
	found := map[int64]bool{}
	hosts := make([]*Host, len(rows))
	for i, r := range rows {
		hosts[i] = hostFromRow(r)
		found[r.ID] = true
	}
	for i, id := range ids {
		if !found[id] {
			return nil, notFoundField(fmt.Sprintf("input.hostIds.%d", i), "host %d not found", id)
		}
	}
	return hosts, nil
}

// MoveHosts moves hosts to another cluster (not a retired one). OPERATOR or
// higher.
func (s *Service) MoveHosts(ctx context.Context, in MoveHostsInput) ([]*Host, error) {
	var hosts []*Host
	err := s.audit.Do(ctx, "moveHosts", fmt.Sprintf("cluster:%d", in.ClusterID), in, func(tx pgx.Tx) error {
		if _, err := auth.RequireRole(ctx, auth.Operator, "moving hosts"); err != nil {
			return err
		}
		if _, err := liveCluster(ctx, tx, "input.clusterId", in.ClusterID); err != nil {
			return err
		}
		if _, err := lockHosts(ctx, tx, in.HostIDs); err != nil {
			return err
		}
		rows, err := queries.HostsMove(ctx, tx, &dbsqlc.HostsMoveParams{ClusterID: in.ClusterID, Ids: in.HostIDs})
		if err != nil {
			return fmt.Errorf("error moving hosts: %w", err)
		}
		hosts = inOrder(in.HostIDs, rows)
		return nil
	})
	return hosts, err
}

func inOrder(ids []int64, rows []*dbsqlc.Host) []*Host {
	by := make(map[int64]*Host, len(rows))
	for _, r := range rows {
		by[r.ID] = hostFromRow(r)
	}
	out := make([]*Host, 0, len(ids))
	seen := map[int64]bool{}
	for _, id := range ids {
		if h := by[id]; h != nil && !seen[id] {
			out = append(out, h)
			seen[id] = true
		}
	}
	return out
}

// RetireHostsInput asks to decommission hosts.
type RetireHostsInput struct {
	HostIDs []int64 `json:"hostIds"`
	Reason  string  `json:"reason"`
}

// RetireHosts decommissions hosts with a reason and announces each change on
// HostStateChannel (hostStateChanged), as SetHostState does. Hosts already
// decommissioned stay as they are. OPERATOR or higher.
func (s *Service) RetireHosts(ctx context.Context, in RetireHostsInput) ([]*Host, error) {
	var hosts []*Host
	err := s.audit.Do(ctx, "retireHosts", fmt.Sprintf("hosts:%d", len(in.HostIDs)), in, func(tx pgx.Tx) error {
		if _, err := auth.RequireRole(ctx, auth.Operator, "retiring hosts"); err != nil {
			return err
		}
		if strings.TrimSpace(in.Reason) == "" || len(in.Reason) > 500 {
			return fault.Field("input.reason", "a reason of 1 to 500 characters is required")
		}
		if _, err := lockHosts(ctx, tx, in.HostIDs); err != nil {
			return err
		}
		if _, err := DecommissionHosts(ctx, tx, in.HostIDs, in.Reason); err != nil {
			return err
		}
		rows, err := queries.HostsByIDs(ctx, tx, in.HostIDs)
		if err != nil {
			return fmt.Errorf("error loading hosts: %w", err)
		}
		hosts = inOrder(in.HostIDs, rows)
		return nil
	})
	return hosts, err
}

// DecommissionHosts sets hosts DECOMMISSIONED with reason and announces each
// change on HostStateChannel, with no access check: the caller checked. It
// returns how many hosts changed.
func DecommissionHosts(ctx context.Context, dbtx db.DBTX, ids []int64, reason string) (int, error) {
	rows, err := queries.HostsDecommission(ctx, dbtx, &dbsqlc.HostsDecommissionParams{Ids: ids, Reason: reason, Channel: HostStateChannel})
	if err != nil {
		return 0, fmt.Errorf("error decommissioning hosts: %w", err)
	}
	return len(rows), nil
}

// Snapshot is the organisation and inventory as an inventory import compares a
// file against: every BU, person, cluster and stack version, and the hosts the
// file names (a fleet's hosts are too many to load whole).
type Snapshot struct {
	BUs           []*BU
	People        []*Person
	Clusters      []*Cluster
	StackVersions map[string]int64 // by "STACK VERSION", e.g. "TDP 3.1.0"
	Hosts         map[string]*Host // by hostname
	// Unlisted are the hosts, not yet decommissioned, that the file does not
	// name (loaded only when pruning).
	Unlisted []UnlistedHost
}

// UnlistedHost is a live host an inventory file does not list.
type UnlistedHost struct {
	ID       int64
	Hostname string
	Cluster  string
}

// LoadSnapshot reads a Snapshot with no access check (the import's caller
// checked), inside dbtx so the import compares and writes one state.
func LoadSnapshot(ctx context.Context, dbtx db.DBTX, hostnames []string, unlisted bool) (*Snapshot, error) {
	s := &Snapshot{StackVersions: map[string]int64{}}
	bus, err := queries.BUsAll(ctx, dbtx)
	if err != nil {
		return nil, fmt.Errorf("error loading BUs: %w", err)
	}
	for _, b := range bus {
		s.BUs = append(s.BUs, &BU{ID: b.ID, ParentID: b.ParentID, Name: b.Name, Code: b.Code, Active: b.Active})
	}
	people, err := queries.PeopleAll(ctx, dbtx)
	if err != nil {
		return nil, fmt.Errorf("error loading people: %w", err)
	}
	for _, p := range people {
		s.People = append(s.People, personFromRow(p))
	}
	clusters, err := queries.ClustersAll(ctx, dbtx)
	if err != nil {
		return nil, fmt.Errorf("error loading clusters: %w", err)
	}
	for _, c := range clusters {
		s.Clusters = append(s.Clusters, clusterFromRow(c))
	}
	versions, err := queries.StackVersionsAll(ctx, dbtx)
	if err != nil {
		return nil, fmt.Errorf("error loading stack versions: %w", err)
	}
	for _, v := range versions {
		s.StackVersions[v.Label] = v.ID
	}
	if s.Hosts, err = hostsByName(ctx, dbtx, hostnames); err != nil {
		return nil, err
	}
	if unlisted {
		rows, err := queries.HostsLiveNotIn(ctx, dbtx, hostnames)
		if err != nil {
			return nil, fmt.Errorf("error loading hosts: %w", err)
		}
		for _, r := range rows {
			s.Unlisted = append(s.Unlisted, UnlistedHost{ID: r.ID, Hostname: r.Hostname, Cluster: r.Cluster})
		}
	}
	return s, nil
}

// BootstrapAdminInput asks for an ADMIN on a platform that may have none.
type BootstrapAdminInput struct {
	Login  string `json:"login"`
	Name   string `json:"name"`
	Email  string `json:"email,omitempty"`
	BUCode string `json:"bu"`
	BUName string `json:"buName,omitempty"`
	// Force adds an ADMIN even when active ones exist, and makes an existing
	// person (deactivated, or of a lower role) an active ADMIN.
	Force bool `json:"force,omitempty"`
	// CreatedBU reports, for the audit log, whether the BU was created.
	CreatedBU bool `json:"createdBu"`
}

// BootstrapAdmin makes the first ADMIN (`tesla admin create`), for the
// machine's operator, who holds the database: it takes no principal, and the
// caller audits it. The BU is created as a root when no BU has its code. It is
// refused when an active ADMIN exists, unless in.Force.
func BootstrapAdmin(ctx context.Context, tx db.DBTX, in *BootstrapAdminInput) (*Person, error) {
	if err := CheckLogin("--login", in.Login); err != nil {
		return nil, err
	}
	if err := CheckName("--name", in.Name, 200); err != nil {
		return nil, err
	}
	if err := CheckEmail("--email", in.Email); err != nil {
		return nil, err
	}
	if err := CheckBUCode("--bu", in.BUCode); err != nil {
		return nil, err
	}
	admins, err := queries.AdminLogins(ctx, tx)
	if err != nil {
		return nil, fmt.Errorf("error loading admins: %w", err)
	}
	if len(admins) > 0 && !in.Force {
		return nil, fault.New(fault.Conflict, "an active ADMIN exists already (%s); sign in as one, or add another with --force",
			strings.Join(admins, ", "))
	}
	bu, err := queries.BUIDByCode(ctx, tx, in.BUCode)
	if errors.Is(err, pgx.ErrNoRows) {
		name := cmp.Or(in.BUName, in.BUCode)
		if err := CheckName("--bu-name", name, 200); err != nil {
			return nil, err
		}
		if bu, err = InsertBU(ctx, tx, nil, name, in.BUCode); err != nil {
			return nil, err
		}
		in.CreatedBU = true
	} else if err != nil {
		return nil, fmt.Errorf("error loading BU %s: %w", in.BUCode, err)
	}
	cur, err := queries.PersonByLoginForUpdate(ctx, tx, in.Login)
	if errors.Is(err, pgx.ErrNoRows) {
		return InsertPerson(ctx, tx, CreatePersonInput{Login: in.Login, Name: in.Name, Email: in.Email, BUID: bu, Role: auth.Admin})
	}
	if err != nil {
		return nil, fmt.Errorf("error loading person %s: %w", in.Login, err)
	}
	if !in.Force {
		return nil, fault.New(fault.Conflict, "login %s is taken; --force makes that person an active ADMIN", in.Login)
	}
	next := personFromRow(cur)
	next.Name, next.Role, next.Active, next.BUID = in.Name, auth.Admin, true, bu
	if in.Email != "" {
		next.Email = in.Email
	}
	return UpdatePerson(ctx, tx, next)
}

// NewHost is a host to insert into a cluster.
type NewHost struct {
	ClusterID int64
	HostSpec
}

// InsertHosts registers many new hosts in one statement, with no access check:
// the caller checked, and made sure no hostname is taken (a taken one fails the
// whole statement as a Conflict). Facts left out are unknown (0 or empty).
func InsertHosts(ctx context.Context, dbtx db.DBTX, hosts []NewHost) (int64, error) {
	if len(hosts) == 0 {
		return 0, nil
	}
	n := len(hosts)
	p := &dbsqlc.HostsInsertManyParams{ClusterIds: make([]int64, n), Hostnames: make([]string, n), Racks: make([]string, n),
		Ips: make([]string, n), Cores: make([]int32, n), Memory: make([]int64, n), Disk: make([]int64, n), Nic: make([]int64, n),
		Oses: make([]string, n), Kernels: make([]string, n), Models: make([]string, n)}
	for i, h := range hosts {
		f, _ := h.Apply(&Host{})
		p.ClusterIds[i], p.Hostnames[i], p.Racks[i], p.Ips[i] = h.ClusterID, h.Hostname, f.Rack, f.IP
		p.Cores[i], p.Memory[i], p.Disk[i], p.Nic[i] = int32(f.CPUCores), f.MemoryBytes, f.DiskBytes, f.NICBps
		p.Oses[i], p.Kernels[i], p.Models[i] = f.OS, f.Kernel, f.Model
	}
	rows, err := queries.HostsInsertMany(ctx, dbtx, p)
	if err != nil {
		return 0, uniqueConflict(fmt.Errorf("error registering %d hosts: %w", n, err), "content", "a hostname of the file was registered meanwhile; run the import again")
	}
	return rows, nil
}
