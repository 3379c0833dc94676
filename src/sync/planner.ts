// From the store to what nginx should run, for the sync loop: the same plan as render and validate
// (src/plan.ts) with ExternalName targets resolved and snippets tested at the edges, and the endpoint
// fast path, which patches the last model when only Endpoints or EndpointSlices changed.
import type { Model, ModelOptions } from '../model/index.js';
import { updateEndpoints } from '../model/endpoint-update.js';
import type { EndpointUpdate } from '../model/endpoint-update.js';
import { NameResolver } from '../name-resolver.js';
import type { SnippetChecker } from '../nginx/snippets.js';
import { settle } from '../plan.js';
import type { Plan } from '../plan.js';
import type { Renderer, RenderOptions } from '../render/index.js';
import type { Store } from '../store.js';

export interface SyncPlanner {
  /** The whole plan; previous: the model of the last plan (a backend over its limit keeps its endpoints). */
  plan(store: Store, previous: Model | null): Promise<Plan>;
  /** New endpoints for the backends of these Services ("namespace/name"), or null: a full plan is needed. */
  patchEndpoints(model: Model, store: Store, services: Set<string>): EndpointUpdate | null;
  /** Resolve the ExternalName targets of the last plan again: whether any address changed. */
  namesChanged(): Promise<boolean>;
}

export interface PlannerOptions {
  model: Omit<ModelOptions, 'resolved' | 'lastGood'>; // classes, settings ConfigMap, balancer, endpoint policy
  renderer: Renderer;
  render: RenderOptions;
  snippets?: Pick<SnippetChecker, 'known' | 'verdictsFor' | 'keepOnly'>; // none: every snippet planned as accepted
  resolver?: NameResolver;
}

export class Planner implements SyncPlanner {
  private readonly resolver: NameResolver;
  private externalNames: string[] = [];

  constructor(private readonly options: PlannerOptions) {
    this.resolver = options.resolver ?? new NameResolver();
  }

  async plan(store: Store, previous: Model | null): Promise<Plan> {
    const { snippets, renderer, render } = this.options;
    // the endpoints each backend has now: one whose new list is over the limit keeps them
    const lastGood = new Map((previous?.backends ?? []).map((backend) => [backend.name, backend.endpoints]));
    const { plan } = await settle(
      store,
      {
        model: { ...this.options.model, lastGood },
        resolved: this.resolver.map,
        snippetVerdicts: snippets?.known ?? new Map(),
        renderer,
        render,
      },
      {
        resolve: (names) => this.resolver.resolve(names),
        ...(snippets ? { testSnippets: (checks) => snippets.verdictsFor(checks) } : {}),
      },
    );
    this.externalNames = plan.externalNames;
    snippets?.keepOnly(plan.snippets);
    return plan;
  }

  patchEndpoints(model: Model, store: Store, services: Set<string>): EndpointUpdate | null {
    return updateEndpoints(model, store, services, this.options.model.endpointPolicy);
  }

  async namesChanged(): Promise<boolean> {
    return this.externalNames.length > 0 && (await this.resolver.refresh(this.externalNames));
  }
}
