import { Link } from '../components/ui';
import { LANDING_PATH } from '../app/routes';

export function NotFound({ path }: { path: string }) {
  return (
    <div className="page">
      <h1 className="page-title">Page not found</h1>
      <section className="panel">
        <div className="panel-body">
          <p>
            There is no page at <code>{path}</code>. <Link to={LANDING_PATH}>Go to the clusters overview</Link>.
          </p>
        </div>
      </section>
    </div>
  );
}
