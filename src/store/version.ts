// One stored version of an object as watch filtering and paging see it: the JSON text, plus
// labels and the parsed object produced only when a selector asks. The parsed object is shared
// by filters and must never be handed to callers; they get their own JSON.parse.
import type { KubeObject } from '../api/types.ts';
import type { Candidate, Labels } from './selectors.ts';

export class Version implements Candidate {
  private parsed: KubeObject | undefined;
  private knownLabels: Labels;
  private labelsKnown: boolean;

  private constructor(
    readonly json: string,
    labels: Labels,
    labelsKnown: boolean,
  ) {
    this.knownLabels = labels;
    this.labelsKnown = labelsKnown;
  }

  static of(json: string): Version {
    return new Version(json, undefined, false);
  }

  static withLabels(json: string, labels: Labels): Version {
    return new Version(json, labels, true);
  }

  get labels(): Labels {
    if (!this.labelsKnown) {
      this.knownLabels = this.object().metadata.labels;
      this.labelsKnown = true;
    }
    return this.knownLabels;
  }

  object(): KubeObject {
    this.parsed ??= JSON.parse(this.json) as KubeObject;
    return this.parsed;
  }
}

/** A private copy of an object's labels for the index (label maps are flat strings). */
export function labelsOf(obj: KubeObject): Labels {
  const l = obj.metadata.labels;
  return l ? { ...l } : undefined;
}
