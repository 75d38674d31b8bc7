// core/v1 Event validation, the lenient legacy path (events without reportingController):
// the involved object must live in the event's namespace when it names one.
import { type ErrorList, invalid, Path } from '../field.ts';
import type { Event } from '../types.ts';
import { nameIsDNSSubdomain, validateObjectMeta, validateObjectMetaUpdate } from './names.ts';

export function validateEvent(ev: Event): ErrorList {
  const errs = validateObjectMeta(ev.metadata, { namespaced: true, nameFn: nameIsDNSSubdomain }, Path.root('metadata'));
  const involvedNs = ev.involvedObject?.namespace ?? '';
  if (involvedNs !== '' && involvedNs !== (ev.metadata?.namespace ?? ''))
    errs.push(invalid(Path.of('involvedObject', 'namespace'), involvedNs, 'does not match event.namespace'));
  return errs;
}

export function validateEventUpdate(ev: Event, old: Event): ErrorList {
  return [...validateObjectMetaUpdate(ev.metadata, old.metadata, Path.root('metadata')), ...validateEvent(ev)];
}
