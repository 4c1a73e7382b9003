package graph

import (
	"context"
	"encoding/json"
	"time"

	"github.com/teslaops/tesla/graph/model"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/stack"
)

// typedPackage loads the typed form of a package (internal/stack) behind a
// ServicePackage, batched per request.
func (r *Resolver) typedPackage(ctx context.Context, obj *model.ServicePackage) (*stack.Package, error) {
	p, err := r.loaders(ctx).TypedPackage.Load(ctx, obj.DBID)
	if err == nil && p == nil {
		err = fault.NotFoundf("service package not found")
	}
	return p, err
}

// typedVersion loads the typed form of a stack version (its partial flag and
// packages with their dependencies).
func (r *Resolver) typedVersion(ctx context.Context, obj *model.StackVersion) (*stack.Version, error) {
	v, err := r.loaders(ctx).TypedVersion.Load(ctx, obj.DBID)
	if err == nil && v == nil {
		err = fault.NotFoundf("stack version not found")
	}
	return v, err
}

// servicePackageModel maps a typed package to the GraphQL object; its
// dependsOn keeps the JSON form older clients read.
func servicePackageModel(p *stack.Package) *model.ServicePackage {
	deps := make([]map[string]string, len(p.Ops.DependsOn))
	for i, d := range p.Ops.DependsOn {
		deps[i] = map[string]string{"service": d.Service, "version": d.Constraint}
	}
	depsJSON, _ := json.Marshal(deps) // strings only: cannot fail
	return &model.ServicePackage{ID: model.GlobalID(model.KindServicePackage, p.ID), DBID: p.ID, Service: p.Service,
		Version: p.Info.Version, SourceKind: model.PackageSource(p.Info.Source.Kind), SourceURI: p.Info.Source.URI,
		Checksum: p.Info.Checksum, DependsOn: model.JSON(depsJSON), Operations: model.JSON(`{}`)}
}

// packageInput converts registerServicePackage's input; the domain validates it.
func packageInput(in model.RegisterServicePackageInput) stack.PackageInput {
	out := stack.PackageInput{Service: in.Service, Info: stack.VersionInfo{
		Version: in.Info.Version, Build: deref(in.Info.Build), Checksum: in.Info.Checksum,
		Source: stack.Source{Kind: stack.SourceKind(in.Info.Source.Kind), URI: in.Info.Source.URI, Ref: deref(in.Info.Source.Ref)},
	}}
	if ops := in.Ops; ops != nil {
		for _, d := range ops.DependsOn {
			out.Ops.DependsOn = append(out.Ops.DependsOn, stack.Dependency{Service: d.Service, Constraint: deref(d.Constraint)})
		}
		out.Ops.StartOrder, out.Ops.StopOrder = deref(ops.StartOrder), deref(ops.StopOrder)
		if h := ops.Health; h != nil {
			out.Ops.Health = &stack.HealthCheck{Kind: stack.HealthKind(h.Kind), Target: h.Target, Timeout: time.Duration(h.Timeout)}
		}
		if rs := ops.Restart; rs != nil {
			out.Ops.Restart = stack.Restart{Policy: stack.RestartPolicy(rs.Policy), MaxRestarts: deref(rs.MaxRestarts)}
		}
	}
	return out
}

// stackVersionInput converts createStackVersion's input.
func stackVersionInput(in model.CreateStackVersionInput) (stack.VersionInput, error) {
	out := stack.VersionInput{Stack: in.Stack, Version: in.Version, Partial: deref(in.Partial), Notes: deref(in.Notes)}
	for _, p := range in.Packages {
		out.Packages = append(out.Packages, stack.PackageRef{Service: p.Service, Version: p.Version})
	}
	base, err := model.ParseOptionalID("input.base", in.Base, model.KindStackVersion)
	out.Base = base
	return out, err
}
