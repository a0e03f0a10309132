/**
 * The gallery's error messages, shared by both stores so that a user mistake reads the same
 * whichever database holds the gallery.
 */
import {
  type EmbeddingProvenance,
  InvalidInputError,
  invalidParameter,
  NotFoundError,
} from '../core/index.js';
import { describeProvenance, type ResolvedRef } from './validate.js';

/** The error for an unknown person reference. */
export function notFoundPerson(r: ResolvedRef): NotFoundError {
  return new NotFoundError(
    'id' in r ? `No person with id ${r.id}` : `No person named ${JSON.stringify(r.name)}`,
  );
}

/** The error for a vector whose length differs from its provenance's registered length. */
export function dimsMismatch(
  model: { readonly dims: number; readonly model: string; readonly template: string },
  got: number,
  what: string,
): InvalidInputError {
  return invalidParameter(
    what,
    `a vector of ${model.dims} values (the length of earlier embeddings from model ${model.model}, template ${model.template})`,
    `${got} values`,
  );
}

/** The refusal of a query whose provenance differs from the gallery's. */
export function provenanceRefused(
  q: EmbeddingProvenance,
  gallery: readonly { model: string; template: string; normalized: number | boolean }[],
): InvalidInputError {
  const have = gallery
    .map((g) =>
      describeProvenance({
        model: g.model,
        template: g.template,
        normalized: g.normalized === 1 || g.normalized === true,
      }),
    )
    .join('; ');
  const otherModel = gallery.some((g) => g.model !== q.model)
    ? ' (the descriptor model is chosen with --descriptor or FACEREC_DESCRIPTOR)'
    : '';
  return new InvalidInputError(
    `The gallery's faces come from ${have}, but the query comes from ${describeProvenance(q)}: distances between embeddings of different pipelines mean nothing. Search with the same pipeline${otherModel}, or re-enroll the gallery with this one.`,
    { input: 'query' },
  );
}
