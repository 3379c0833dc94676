import assert from 'node:assert/strict';
import { isServed, LEGACY_CLASS_ANNOTATION } from '../../../src/model/annotations/class.js';
import type { ClassOptions } from '../../../src/model/annotations/class.js';
import type { IngressClass } from '../../../src/resources.js';
import {
  backend,
  build,
  CONTROLLER,
  ingress,
  ingressClass,
  OPTIONS,
  path,
  rule,
  service,
  endpoints,
} from '../../helpers/resources.js';

const OTHER = 'k8s.io/ingress-nginx';
const served = (i: Parameters<typeof ingress>[0], classes: IngressClass[] = [], opts: Partial<ClassOptions> = {}) =>
  isServed(ingress(i), classes, { ...OPTIONS, ...opts });

describe('ingress classes', () => {
  describe('spec.ingressClassName', () => {
    it('serves the configured class name, with or without an IngressClass object', () => {
      assert.equal(served({ name: 'a', className: 'nginx' }), true);
      assert.equal(served({ name: 'a', className: 'nginx' }, [ingressClass('nginx')]), true);
    });

    it('does not serve another class name', () => {
      assert.equal(served({ name: 'a', className: 'traefik' }), false);
      assert.equal(
        served({ name: 'a', className: 'traefik' }, [ingressClass('traefik', 'traefik.io/ingress-controller')]),
        false,
      );
    });

    it('serves any class whose IngressClass names our controller', () => {
      assert.equal(served({ name: 'a', className: 'internal' }, [ingressClass('internal', CONTROLLER)]), true);
      assert.equal(served({ name: 'a', className: 'internal' }, [ingressClass('internal', OTHER)]), false);
    });

    it('takes precedence over the legacy annotation', () => {
      assert.equal(
        served({ name: 'a', className: 'traefik', annotations: { [LEGACY_CLASS_ANNOTATION]: 'nginx' } }),
        false,
      );
      assert.equal(
        served({ name: 'a', className: 'nginx', annotations: { [LEGACY_CLASS_ANNOTATION]: 'traefik' } }),
        true,
      );
    });

    it('ignores watchWithoutClass and default classes when a class is set', () => {
      assert.equal(
        served({ name: 'a', className: 'nginx' }, [ingressClass('theirs', OTHER, true)], { watchWithoutClass: false }),
        true,
      );
      assert.equal(served({ name: 'a', className: 'traefik' }, [ingressClass('ours', CONTROLLER, true)]), false);
    });
  });

  describe('legacy kubernetes.io/ingress.class annotation', () => {
    it('serves the configured class name and ignores others', () => {
      assert.equal(
        served({ name: 'a', className: null, annotations: { [LEGACY_CLASS_ANNOTATION]: 'nginx' } }, [], {
          watchWithoutClass: false,
        }),
        true,
      );
      assert.equal(
        served({ name: 'a', className: null, annotations: { [LEGACY_CLASS_ANNOTATION]: 'traefik' } }),
        false,
      );
    });

    it('serves a class whose IngressClass names our controller', () => {
      assert.equal(
        served({ name: 'a', className: null, annotations: { [LEGACY_CLASS_ANNOTATION]: 'internal' } }, [
          ingressClass('internal'),
        ]),
        true,
      );
    });
  });

  describe('Ingresses without a class', () => {
    it('are served when watchWithoutClass is set and no IngressClass is the default', () => {
      assert.equal(served({ name: 'a', className: null }), true);
      assert.equal(served({ name: 'a', className: null }, [ingressClass('nginx'), ingressClass('x', OTHER)]), true);
    });

    it('are not served when watchWithoutClass is false', () => {
      assert.equal(served({ name: 'a', className: null }, [], { watchWithoutClass: false }), false);
    });

    it('belong to the controller of the default IngressClass', () => {
      assert.equal(served({ name: 'a', className: null }, [ingressClass('theirs', OTHER, true)]), false);
      assert.equal(
        served({ name: 'a', className: null }, [ingressClass('mine', CONTROLLER, true)], { watchWithoutClass: false }),
        true,
      );
      assert.equal(
        served({ name: 'a', className: null }, [ingressClass('nginx', 'whatever', true)], { watchWithoutClass: false }),
        true,
        'default class with our name',
      );
      assert.equal(
        served({ name: 'a', className: null }, [
          ingressClass('theirs', OTHER, true),
          ingressClass('mine', CONTROLLER, true),
        ]),
        true,
      );
    });
  });

  it('decides which Ingresses reach the model', () => {
    const web = [service({ name: 'web' }), endpoints({ name: 'web', subsets: [{ ready: ['10.0.0.1'] }] })];
    const { model } = build([
      ...web,
      ingressClass('theirs', OTHER, true),
      ingress({ name: 'mine', rules: [rule('mine.example.com', path('/', 'web'))] }),
      ingress({
        name: 'classless',
        className: null,
        rules: [rule('classless.example.com', path('/', 'web'))],
        defaultBackend: backend('web'),
      }),
      ingress({
        name: 'legacy',
        className: null,
        annotations: { [LEGACY_CLASS_ANNOTATION]: 'nginx' },
        rules: [rule('legacy.example.com', path('/', 'web'))],
      }),
    ]);
    assert.deepEqual(
      model.servers.map((s) => s.host),
      ['', 'legacy.example.com', 'mine.example.com'],
    );
    assert.deepEqual(model.servers[0]!.fallback, { backend: null, ingress: null });
  });
});
