package inventory

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/inventory/dbsqlc"
	"github.com/teslaops/tesla/internal/page"
)

// BU is a business unit; BUs form a tree.
type BU struct {
	ID        int64
	ParentID  *int64
	Name      string
	Code      string
	Depth     int
	CreatedAt time.Time
	// Active is false once the BU is deactivated; deactivated BUs stay in the
	// tree (people, clusters and the audit log refer to them).
	Active bool
}

func (b *BU) dests() []any {
	return []any{&b.ID, &b.ParentID, &b.Name, &b.Code, &b.Depth, &b.CreatedAt, &b.Active}
}

// buTree yields every BU with its depth; BU trees are small (tens to hundreds of
// rows), so computing depth over the whole tree is cheaper than storing it.
const buTree = `(WITH RECURSIVE t AS (
		SELECT id, parent_id, name, code, 0 AS depth, created_at, active FROM bu WHERE parent_id IS NULL
		UNION ALL
		SELECT b.id, b.parent_id, b.name, b.code, t.depth + 1, b.created_at, b.active FROM bu b JOIN t ON b.parent_id = t.id)
	SELECT * FROM t) b`

const buColumns = `b.id, b.parent_id, b.name, b.code, b.depth, b.created_at, b.active`

// BUFilter narrows ListBUs.
type BUFilter struct {
	ParentID  *int64
	RootsOnly bool
	Search    string
}

// ListBUs lists BUs breadth-first (by depth, then name). BUs are organisation
// structure every role may see.
func (s *Service) ListBUs(ctx context.Context, f BUFilter, args page.Args) (page.Page[*BU], error) {
	if _, err := auth.Require(ctx); err != nil {
		return page.Page[*BU]{}, err
	}
	w, err := args.Resolve()
	if err != nil {
		return page.Page[*BU]{}, err
	}
	c := newConds()
	if f.ParentID != nil {
		c.add(`b.parent_id = @parent`, "parent", *f.ParentID)
	}
	if f.RootsOnly {
		c.add(`b.parent_id IS NULL`, "", nil)
	}
	if f.Search != "" {
		c.add(`(b.name ILIKE @search OR b.code ILIKE @search)`, "search", likePattern(f.Search))
	}
	pages, err := queryPages[BU](ctx, s.dbtx, pagedSpec{
		Columns: buColumns, From: buTree, Where: c.where(), Partition: "0",
		Order: "b.depth, b.name, b.id", Args: c.args,
	}, w, []int64{0})
	if err != nil {
		return page.Page[*BU]{}, fmt.Errorf("error listing BUs: %w", err)
	}
	return single(pages), nil
}

// buFromRow converts a row of the BU queries, which all share BUsByIDs's columns.
func buFromRow(r *dbsqlc.BUsByIDsRow) *BU {
	return &BU{ID: r.ID, ParentID: r.ParentID, Name: r.Name, Code: r.Code, Depth: int(r.Depth), CreatedAt: r.CreatedAt, Active: r.Active}
}

// BUsByIDs loads BUs by id (for dataloaders); unknown ids are absent from the map.
func (s *Service) BUsByIDs(ctx context.Context, ids []int64) (map[int64]*BU, error) {
	return byIDs(ctx, "BUs", func() ([]*dbsqlc.BUsByIDsRow, error) { return queries.BUsByIDs(ctx, s.dbtx, ids) },
		buFromRow, func(b *BU) int64 { return b.ID })
}

// BUByCode loads one BU by its code.
func (s *Service) BUByCode(ctx context.Context, code string) (*BU, error) {
	return lookupOne(ctx, fmt.Sprintf("BU %q", code), func() (*dbsqlc.BUByCodeRow, error) { return queries.BUByCode(ctx, s.dbtx, code) },
		func(r *dbsqlc.BUByCodeRow) *BU { return buFromRow((*dbsqlc.BUsByIDsRow)(r)) })
}

// BUChildren returns the child BUs of each parent, ordered by name.
func (s *Service) BUChildren(ctx context.Context, parents []int64) (map[int64][]*BU, error) {
	return groupedBy(ctx, "child BUs", func() ([]*dbsqlc.BUChildrenRow, error) { return queries.BUChildren(ctx, s.dbtx, parents) },
		func(r *dbsqlc.BUChildrenRow) *BU { return buFromRow((*dbsqlc.BUsByIDsRow)(r)) }, func(b *BU) int64 { return *b.ParentID })
}

// Person is someone who uses the portal or owns jobs.
type Person struct {
	ID        int64
	Login     string
	Name      string
	Email     string
	BUID      int64
	Role      auth.Role
	Active    bool
	CreatedAt time.Time
}

func (p *Person) dests() []any {
	return []any{&p.ID, &p.Login, &p.Name, &p.Email, &p.BUID, &p.Role, &p.Active, &p.CreatedAt}
}

const personColumns = `p.id, p.login, p.name, p.email, p.bu_id, p.role, p.active, p.created_at`

// canSeePerson is the one rule for reading a person's record.
func canSeePerson(p *auth.Principal, personID, buID int64) bool {
	switch {
	case p.Is(auth.Operator):
		return true
	case p.PersonID == personID:
		return true
	case p.Role == auth.BUAdmin:
		return p.InBUSubtree(buID)
	}
	return false
}

// CheckPerson returns Forbidden when the caller may not read person.
func (s *Service) CheckPerson(ctx context.Context, person *Person) error {
	p, err := auth.Require(ctx)
	if err != nil {
		return err
	}
	if !canSeePerson(p, person.ID, person.BUID) {
		return fault.Forbiddenf("you may not read person %q: viewers read only themselves, BU admins their BU subtree", person.Login)
	}
	return nil
}

// PersonFilter narrows ListPeople.
type PersonFilter struct {
	// BUID restricts to people in that BU and its whole subtree.
	BUID   *int64
	Role   auth.Role
	Search string
}

// ListPeople lists people by name. Viewers are refused (they read themselves
// through `me`); BU admins may list their subtree, and are refused a BU outside it;
// with no BU given they get their own subtree.
func (s *Service) ListPeople(ctx context.Context, f PersonFilter, args page.Args) (page.Page[*Person], error) {
	p, err := auth.Require(ctx)
	if err != nil {
		return page.Page[*Person]{}, err
	}
	w, err := args.Resolve()
	if err != nil {
		return page.Page[*Person]{}, err
	}
	c := newConds()
	switch {
	case p.Is(auth.Operator):
	case p.Role == auth.BUAdmin:
		if f.BUID != nil && !p.InBUSubtree(*f.BUID) {
			return page.Page[*Person]{}, fault.Forbiddenf("BU admins may list only the people of their own BU subtree")
		}
		c.add(`p.bu_id = ANY(@scope)`, "scope", p.BUSubtree)
	default:
		return page.Page[*Person]{}, fault.Forbiddenf("viewers may not list people; use `me` for your own record")
	}
	if f.BUID != nil {
		sub, err := auth.BUSubtree(ctx, s.dbtx, *f.BUID)
		if err != nil {
			return page.Page[*Person]{}, err
		}
		c.add(`p.bu_id = ANY(@bus)`, "bus", sub)
	}
	if f.Role != "" {
		c.add(`p.role = @role`, "role", string(f.Role))
	}
	if f.Search != "" {
		c.add(`(p.name ILIKE @search OR p.login ILIKE @search)`, "search", likePattern(f.Search))
	}
	pages, err := queryPages[Person](ctx, s.dbtx, pagedSpec{
		Columns: personColumns, From: `person p`, Where: c.where(), Partition: "0",
		Order: "p.name, p.id", Args: c.args,
	}, w, []int64{0})
	if err != nil {
		return page.Page[*Person]{}, fmt.Errorf("error listing people: %w", err)
	}
	return single(pages), nil
}

// PeopleInBUs returns one page of the people directly in each BU, for the nested
// BU.people connection. Access is decided per BU: refused maps each BU the caller
// may not list to its Forbidden error (naming the BU), and pages holds the others,
// so one refused BU never costs the caller the ones they may see. err is for
// failures of the whole batch (bad arguments, the database).
func (s *Service) PeopleInBUs(ctx context.Context, bus []int64, args page.Args) (pages map[int64]*page.Page[*Person], refused map[int64]error, err error) {
	p, err := auth.Require(ctx)
	if err != nil {
		return nil, nil, err
	}
	w, err := args.Resolve()
	if err != nil {
		return nil, nil, err
	}
	allowed := bus
	if !p.Is(auth.Operator) {
		allowed = nil
		var denied []int64
		for _, b := range bus {
			if p.Role == auth.BUAdmin && p.InBUSubtree(b) {
				allowed = append(allowed, b)
			} else {
				denied = append(denied, b)
			}
		}
		if refused, err = s.refusePeopleOf(ctx, p, denied); err != nil {
			return nil, nil, err
		}
	}
	pages = map[int64]*page.Page[*Person]{}
	if len(allowed) == 0 {
		return pages, refused, nil
	}
	pages, err = queryPages[Person](ctx, s.dbtx, pagedSpec{
		Columns: personColumns, From: `person p`, Where: `p.bu_id = ANY(@bus)`, Partition: "p.bu_id",
		Order: "p.name, p.id", Args: pgx.NamedArgs{"bus": allowed},
	}, w, allowed)
	if err != nil {
		return nil, nil, fmt.Errorf("error listing people of BUs: %w", err)
	}
	return pages, refused, nil
}

// refusePeopleOf gives each BU in bus its Forbidden error, naming the BU by code
// so a query over several BUs tells which one was refused.
func (s *Service) refusePeopleOf(ctx context.Context, p *auth.Principal, bus []int64) (map[int64]error, error) {
	if len(bus) == 0 {
		return nil, nil
	}
	rows, err := queries.BUCodes(ctx, s.dbtx, bus)
	if err != nil {
		return nil, fmt.Errorf("error loading BU codes: %w", err)
	}
	codes := make(map[int64]string, len(rows))
	for _, r := range rows {
		codes[r.ID] = r.Code
	}
	out := make(map[int64]error, len(bus))
	for _, b := range bus {
		name := codes[b]
		if name == "" {
			name = fmt.Sprint(b)
		}
		if p.Role == auth.BUAdmin {
			out[b] = fault.Forbiddenf("you may not list the people of BU %s: BU admins list only the people of their own BU subtree", name)
		} else {
			out[b] = fault.Forbiddenf("you may not list the people of BU %s: viewers may not list people; use `me` for your own record", name)
		}
	}
	return out, nil
}

func personFromRow(r *dbsqlc.Person) *Person {
	return &Person{ID: r.ID, Login: r.Login, Name: r.Name, Email: r.Email, BUID: r.BuID, Role: r.Role, Active: r.Active, CreatedAt: r.CreatedAt}
}

// PeopleByIDs loads people by id without access checks; callers check each one
// with CheckPerson before exposing it (the dataloader serves many parents).
func (s *Service) PeopleByIDs(ctx context.Context, ids []int64) (map[int64]*Person, error) {
	return byIDs(ctx, "people", func() ([]*dbsqlc.Person, error) { return queries.PeopleByIDs(ctx, s.dbtx, ids) },
		personFromRow, func(p *Person) int64 { return p.ID })
}

// PersonByLogin loads one person, checking access.
func (s *Service) PersonByLogin(ctx context.Context, login string) (*Person, error) {
	person, err := lookupOne(ctx, fmt.Sprintf("person %q", login), func() (*dbsqlc.Person, error) { return queries.PersonByLogin(ctx, s.dbtx, login) },
		personFromRow)
	if err != nil {
		return nil, err
	}
	if err := s.CheckPerson(ctx, person); err != nil {
		return nil, err
	}
	return person, nil
}
