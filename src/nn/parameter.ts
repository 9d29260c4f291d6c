// Parameters: leaf tensors that a Module owns and an optimizer updates (torch.nn.Parameter).
// A Tensor cannot be subclassed, so a parameter is an ordinary Tensor remembered in a WeakSet;
// assigning one to a Module property registers it under that property's name.
import { Tensor } from '../torch/index.js';

const parameters = new WeakSet<Tensor>();

/**
 * Makes `t` a parameter and returns it: a leaf tensor (requiresGrad by default), kept out of
 * every tidy() scope, recognised by Module when assigned to one of its properties.
 * The module takes ownership: a tensor that is not a leaf (it has autograd history) is replaced
 * by a detached handle to the same data and its own handle is disposed.
 */
export function parameter(t: Tensor, requiresGrad = true): Tensor {
  let p = t;
  if (!t.info().isLeaf) {
    p = t.detach();
    t.dispose();
  }
  p.keep();
  p.requiresGrad_(requiresGrad);
  parameters.add(p);
  return p;
}

/** True for a tensor made by parameter(). */
export function isParameter(t: unknown): t is Tensor {
  return t instanceof Tensor && parameters.has(t);
}
