import type { NavItem } from '../app/routes';

export function ComingSoon({ item }: { item: NavItem }) {
  return (
    <div className="page">
      <h1 className="page-title">{item.label}</h1>
      <section className="panel coming-soon" data-testid="coming-soon">
        <div className="coming-soon-tag">Coming soon</div>
        <p>{item.soon}</p>
      </section>
    </div>
  );
}
