"""MLflow models-from-code entry: MLflow copies this file into each logged model and runs
it on load, so the model object is built from code, never unpickled. The learned state
comes from the model's artifacts, checked against their sha256 in ``load_context``."""

from mlflow.models import set_model

from training.pyfunc import SkillPathPyfunc

set_model(SkillPathPyfunc())
