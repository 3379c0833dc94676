// Every annotation family, in rendering order. Add a family here and create its partials.
import type { Family } from './family.js';

export const FAMILIES: Family[] = [];
