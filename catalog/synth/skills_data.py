"""The curated skill list behind the synthetic world, and how it becomes ``Skill`` objects.

Each line is ``id | name | kind | prerequisites | popularity`` under a ``## domain``
header. ``kind`` sets the half-life range: ``T`` theory (evergreen), ``F`` fundamentals
(3-6 years), ``W`` frameworks and products (1-2 years), ``A`` AI tooling (90-240 days).
Prerequisites (``python:3 sql``) may only name skills listed *earlier*, so the graph is
acyclic by construction; a prerequisite without a level gets one drawn from 2-4.
Popularity (default 1) weights how much content and how many goals a skill attracts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from catalog.schema import Skill, SkillLevel
from catalog.synth.aliases import SKILL_ALIASES

__all__ = ["SkillSpec", "SKILL_TABLE", "HALF_LIFE_RANGES", "skill_specs", "build_skills"]

# kind -> (min, max) half-life in days; None = evergreen.
HALF_LIFE_RANGES: dict[str, tuple[float, float] | None] = {
    "T": None,
    "F": (1095.0, 2190.0),
    "W": (365.0, 730.0),
    "A": (90.0, 240.0),
}

SKILL_TABLE = """
## cs
programming-basics | Programming fundamentals | T | | 3
discrete-math | Discrete mathematics | T | | 0.6
algebra | Algebra | T | | 0.6
calculus | Calculus | T | algebra:3 | 0.7
linear-algebra | Linear algebra | T | algebra:3 | 1.2
probability | Probability | T | algebra:2 calculus:2 | 1.2
data-structures | Data structures | T | programming-basics:3 | 1.5
algorithms | Algorithms | T | data-structures:3 discrete-math | 1.5
graph-theory | Graph theory | T | discrete-math:3 | 0.5
computer-architecture | Computer architecture | T | programming-basics:2 | 0.5
operating-systems | Operating systems | F | computer-architecture programming-basics:3 | 0.7
computer-networks | Computer networks | F | programming-basics:2 | 0.7
concurrency | Concurrency | F | operating-systems:2 | 0.7
distributed-systems | Distributed systems | F | computer-networks:3 concurrency | 1
optimization | Mathematical optimization | T | calculus:3 linear-algebra:3 | 0.6
numerical-methods | Numerical methods | T | calculus:3 linear-algebra:2 | 0.4
software-design | Software design | F | programming-basics:3 | 1
design-patterns | Design patterns | F | software-design:2 | 0.8
testing | Software testing | F | programming-basics:3 | 1
git | Git | F | programming-basics:2 | 1.5
command-line | Command line and shell | F | | 1
regex | Regular expressions | T | programming-basics:2 | 0.5
security-basics | Security fundamentals | F | computer-networks:2 | 0.7
functional-programming | Functional programming | T | programming-basics:3 | 0.5
## languages
python | Python | F | programming-basics:2 | 5
python-advanced | Advanced Python | F | python:3 | 1.5
python-typing | Python type hints | W | python:3 | 0.8
asyncio | Python asyncio | W | python-advanced:3 concurrency:2 | 0.6
javascript | JavaScript | F | programming-basics:2 | 4
typescript | TypeScript | W | javascript:3 | 2
java | Java | F | programming-basics:2 | 2
kotlin | Kotlin | W | java:2 | 0.6
csharp | C# | F | programming-basics:2 | 1
go | Go | F | programming-basics:3 | 1.2
rust | Rust | W | programming-basics:3 data-structures:2 | 1.2
c | C | F | programming-basics:2 computer-architecture:2 | 0.6
cpp | C++ | F | c:2 data-structures:2 | 1
scala | Scala | W | java:3 functional-programming:2 | 0.4
r-lang | R | F | programming-basics:2 | 1
bash-scripting | Bash scripting | F | command-line:3 | 0.8
sql | SQL | T | | 4
## web
html-css | HTML and CSS | F | | 2.5
http | HTTP and REST | F | computer-networks:2 | 1.2
dom | DOM and browser APIs | F | javascript:2 html-css:2 | 0.8
web-accessibility | Web accessibility | F | html-css:3 | 0.5
react | React | W | javascript:3 dom:2 | 3
nextjs | Next.js | W | react:3 | 1.5
vue | Vue.js | W | javascript:3 dom:2 | 1
angular | Angular | W | typescript:3 | 0.8
node | Node.js | W | javascript:3 | 2
express | Express | W | node:3 http:2 | 0.8
django | Django | W | python:3 http:2 sql:2 | 1.2
flask | Flask | W | python:3 http:2 | 0.8
fastapi | FastAPI | W | python-typing:2 http:3 | 1.2
spring | Spring Boot | W | java:3 http:2 | 1
dotnet | ASP.NET Core | W | csharp:3 http:2 | 0.7
graphql | GraphQL | W | http:3 | 0.6
rest-api-design | REST API design | F | http:3 | 1
web-security | Web security | F | http:3 security-basics:2 | 0.7
oauth | OAuth and OpenID Connect | F | web-security:2 | 0.5
frontend-testing | Frontend testing | W | javascript:3 testing:2 | 0.5
react-native | React Native | W | react:3 | 0.7
android-dev | Android development | W | kotlin:3 | 0.6
## cloud
linux | Linux administration | F | command-line:3 operating-systems:2 | 1.5
cloud-fundamentals | Cloud fundamentals | F | linux:2 computer-networks:2 | 1.5
docker | Docker | W | linux:2 | 2.5
kubernetes | Kubernetes | W | docker:3 cloud-fundamentals:2 | 2
helm | Helm | W | kubernetes:3 | 0.5
terraform | Terraform | W | cloud-fundamentals:3 | 1.2
aws | AWS | W | cloud-fundamentals:3 | 2.5
gcp | Google Cloud | W | cloud-fundamentals:3 | 1.2
azure | Azure | W | cloud-fundamentals:3 | 1.5
serverless | Serverless | W | aws:2 | 0.7
iam | Cloud IAM | W | cloud-fundamentals:2 security-basics:2 | 0.5
ci-cd | CI/CD | W | git:3 | 1.2
github-actions | GitHub Actions | W | ci-cd:2 | 0.8
observability | Observability | W | linux:3 | 0.8
prometheus | Prometheus and Grafana | W | observability:2 | 0.6
sre | Site reliability engineering | F | observability:3 distributed-systems:2 | 0.6
gitops | GitOps | W | kubernetes:3 ci-cd:3 | 0.4
microservices | Microservices | F | distributed-systems:2 rest-api-design:3 | 1
message-queues | Message queues | F | distributed-systems:2 | 0.6
platform-engineering | Platform engineering | W | kubernetes:3 ci-cd:3 | 0.5
## databases
relational-modeling | Relational data modeling | T | sql:2 | 1
postgres | PostgreSQL | F | sql:3 | 1.5
mysql | MySQL | F | sql:3 | 0.8
sqlite | SQLite | F | sql:2 | 0.4
query-optimization | Query optimization | F | sql:4 relational-modeling:3 | 0.7
transactions | Transactions and isolation | T | relational-modeling:3 concurrency:2 | 0.4
nosql | NoSQL concepts | F | relational-modeling:2 | 0.7
mongodb | MongoDB | W | nosql:3 | 0.9
redis | Redis | W | nosql:2 | 0.8
cassandra | Cassandra | W | nosql:3 distributed-systems:2 | 0.3
elasticsearch | Elasticsearch | W | nosql:2 | 0.6
orms | ORMs | W | sql:3 software-design:2 | 0.5
database-internals | Database internals | T | data-structures:3 transactions:3 | 0.4
graph-databases | Graph databases | W | graph-theory:2 nosql:2 | 0.4
## statistics
descriptive-stats | Descriptive statistics | T | algebra:2 | 1.5
statistical-inference | Statistical inference | T | probability:3 descriptive-stats:3 | 1.2
hypothesis-testing | Hypothesis testing | T | statistical-inference:3 | 1
regression | Regression analysis | T | statistical-inference:3 linear-algebra:2 | 1.2
bayesian-stats | Bayesian statistics | T | probability:4 statistical-inference:3 | 0.7
time-series | Time series analysis | T | regression:3 | 0.8
experimental-design | Experimental design | T | hypothesis-testing:3 | 0.6
causal-inference | Causal inference | T | regression:3 experimental-design:2 | 0.6
survival-analysis | Survival analysis | T | statistical-inference:3 | 0.3
multivariate-stats | Multivariate statistics | T | linear-algebra:3 statistical-inference:3 | 0.4
stochastic-processes | Stochastic processes | T | probability:4 | 0.3
sampling | Sampling and surveys | T | statistical-inference:2 | 0.3
nonparametric | Nonparametric statistics | T | hypothesis-testing:3 | 0.3
statsmodels | statsmodels | W | regression:3 python:3 | 0.4
pymc | PyMC and probabilistic programming | W | bayesian-stats:3 python:3 | 0.3
## analytics
spreadsheets | Spreadsheets | F | | 1.2
excel-advanced | Advanced Excel | W | spreadsheets:3 | 0.8
jupyter | Jupyter notebooks | W | python:2 | 0.8
numpy | NumPy | F | python:3 linear-algebra:2 | 1.5
pandas | pandas | W | python:3 numpy:2 | 3.5
data-cleaning | Data cleaning | F | pandas:3 | 1.2
eda | Exploratory data analysis | F | pandas:3 descriptive-stats:2 | 1.5
data-visualization | Data visualization | F | descriptive-stats:2 | 1.5
matplotlib | Matplotlib and seaborn | W | numpy:2 data-visualization:2 | 1
plotly | Plotly and Dash | W | pandas:2 data-visualization:2 | 0.5
tableau | Tableau | W | data-visualization:3 | 1
power-bi | Power BI | W | data-visualization:3 | 1.2
dashboards | Dashboard design | F | data-visualization:3 | 0.7
metrics-design | Metrics and KPIs | F | descriptive-stats:2 | 0.6
ab-testing | A/B testing | F | hypothesis-testing:3 | 1
product-analytics | Product analytics | W | sql:3 ab-testing:2 | 0.7
storytelling | Data storytelling | F | data-visualization:2 | 0.6
web-scraping | Web scraping | W | python:3 html-css:2 | 0.6
## data-engineering
data-modeling | Dimensional modeling | F | relational-modeling:3 | 0.8
etl | ETL and ELT pipelines | F | sql:3 python:2 | 1.5
airflow | Apache Airflow | W | etl:3 python:3 | 1.2
dagster | Dagster | W | etl:3 python:3 | 0.4
dbt | dbt | W | sql:3 data-modeling:2 | 1
spark | Apache Spark | W | python:3 sql:3 distributed-systems:2 | 1.5
pyspark | PySpark | W | spark:2 pandas:2 | 1
kafka | Apache Kafka | W | message-queues:3 | 1.2
stream-processing | Stream processing | F | kafka:3 | 0.6
flink | Apache Flink | W | stream-processing:3 java:2 | 0.4
data-warehousing | Data warehousing | F | data-modeling:3 | 1
snowflake | Snowflake | W | data-warehousing:2 sql:3 | 0.8
bigquery | BigQuery | W | data-warehousing:2 gcp:2 | 0.7
lakehouse | Lakehouse and table formats | W | data-warehousing:3 spark:2 | 0.6
columnar-formats | Parquet and Arrow | F | etl:2 | 0.5
data-quality | Data quality and testing | W | etl:3 testing:2 | 0.6
data-governance | Data governance | F | data-warehousing:2 | 0.4
duckdb | DuckDB | W | sql:3 | 0.5
polars | Polars | W | python:3 pandas:2 | 0.6
cdc | Change data capture | W | kafka:2 postgres:2 | 0.3
## ml
ml-fundamentals | Machine learning fundamentals | F | statistical-inference:2 linear-algebra:2 python:2 | 3
scikit-learn | scikit-learn | W | ml-fundamentals:2 numpy:3 pandas:2 | 2
feature-engineering | Feature engineering | F | ml-fundamentals:3 pandas:3 | 1.2
model-evaluation | Model evaluation | T | ml-fundamentals:3 | 1.2
linear-models | Linear models | T | regression:3 ml-fundamentals:2 | 0.8
decision-trees | Decision trees | T | ml-fundamentals:2 | 0.8
gradient-boosting | Gradient boosting | F | decision-trees:3 | 1
xgboost | XGBoost and LightGBM | W | gradient-boosting:3 scikit-learn:2 | 1
clustering | Clustering | T | ml-fundamentals:2 | 0.8
dimensionality-reduction | Dimensionality reduction | T | linear-algebra:3 ml-fundamentals:2 | 0.6
svm | Support vector machines | T | linear-models:3 optimization:2 | 0.3
recommender-systems | Recommender systems | F | ml-fundamentals:3 linear-algebra:3 | 0.8
anomaly-detection | Anomaly detection | F | ml-fundamentals:3 | 0.5
forecasting | Time series forecasting | F | time-series:3 ml-fundamentals:2 | 0.8
nlp-classic | Classical NLP | F | ml-fundamentals:3 regex:2 | 0.6
imbalanced-learning | Imbalanced learning | F | model-evaluation:3 | 0.3
hyperparameter-tuning | Hyperparameter tuning | W | model-evaluation:3 | 0.6
interpretability | Model interpretability | F | model-evaluation:3 | 0.6
ml-fairness | Fairness in ML | F | model-evaluation:3 | 0.4
reinforcement-learning | Reinforcement learning | F | probability:3 ml-fundamentals:3 optimization:2 | 0.7
graph-ml | Graph machine learning | F | graph-theory:3 ml-fundamentals:3 | 0.3
learning-to-rank | Learning to rank | F | model-evaluation:3 gradient-boosting:2 | 0.3
## deep-learning
neural-networks | Neural networks | T | calculus:3 linear-algebra:3 ml-fundamentals:3 | 2
backprop | Backpropagation and autodiff | T | neural-networks:2 calculus:3 | 0.6
pytorch | PyTorch | W | neural-networks:2 python:3 numpy:3 | 2.5
tensorflow | TensorFlow and Keras | W | neural-networks:2 python:3 | 1.2
jax | JAX | W | numpy:4 backprop:3 | 0.4
cnn | Convolutional networks | F | neural-networks:3 | 1
rnn | Recurrent networks | F | neural-networks:3 | 0.5
attention | Attention mechanisms | F | neural-networks:3 | 0.8
transformers | Transformers | F | attention:3 | 2
embeddings | Embeddings and representation learning | F | neural-networks:3 | 1.2
transfer-learning | Transfer learning | F | neural-networks:3 | 0.7
computer-vision | Computer vision | F | cnn:3 | 1
object-detection | Object detection | W | computer-vision:3 | 0.5
image-segmentation | Image segmentation | W | computer-vision:3 | 0.4
diffusion-models | Diffusion models | W | neural-networks:4 probability:3 | 0.7
gans | Generative adversarial networks | F | neural-networks:4 | 0.3
speech | Speech recognition | W | rnn:2 transformers:2 | 0.4
nlp-deep | Deep learning for NLP | F | transformers:3 nlp-classic:2 | 0.8
hugging-face | Hugging Face Transformers | W | transformers:3 pytorch:3 | 1.2
gpu-programming | GPU programming and CUDA | F | cpp:3 computer-architecture:3 | 0.5
distributed-training | Distributed training | W | pytorch:4 distributed-systems:2 | 0.4
model-compression | Quantization and distillation | W | neural-networks:4 | 0.4
self-supervised | Self-supervised learning | F | embeddings:3 | 0.3
graph-neural-networks | Graph neural networks | W | graph-ml:3 pytorch:3 | 0.3
## llm
llm-fundamentals | LLM fundamentals | W | transformers:2 | 3
prompt-engineering | Prompt engineering | A | llm-fundamentals:2 | 4
llm-apis | LLM APIs | A | python:3 http:2 | 3.5
tokenization | Tokenization | F | nlp-classic:2 llm-fundamentals:2 | 0.4
vector-databases | Vector databases | A | embeddings:2 nosql:2 | 1.5
rag | Retrieval-augmented generation | A | llm-apis:3 vector-databases:2 prompt-engineering:3 | 3.5
langchain | LangChain | A | llm-apis:3 python:3 | 2
llamaindex | LlamaIndex | A | llm-apis:3 rag:2 | 0.8
tool-calling | Function and tool calling | A | llm-apis:3 | 1.5
agents | LLM agents | A | tool-calling:3 prompt-engineering:3 | 3.5
mcp | Model Context Protocol | A | tool-calling:3 | 1.5
multi-agent | Multi-agent systems | A | agents:3 | 1
structured-output | Structured outputs | A | llm-apis:2 python-typing:2 | 0.8
fine-tuning-llms | Fine-tuning LLMs | A | hugging-face:3 llm-fundamentals:3 | 1.5
lora | LoRA and PEFT | A | fine-tuning-llms:3 | 0.8
rlhf | RLHF and preference tuning | W | fine-tuning-llms:3 reinforcement-learning:2 | 0.5
llm-evaluation | LLM evaluation | A | llm-apis:3 model-evaluation:2 | 1.5
llm-safety | LLM safety and guardrails | A | llm-apis:2 security-basics:2 | 0.8
prompt-injection | Prompt injection defense | A | llm-safety:3 | 0.5
local-llms | Running local LLMs | A | llm-fundamentals:2 linux:2 | 1
llm-serving | LLM serving | A | local-llms:3 gpu-programming:2 docker:3 | 0.7
multimodal | Multimodal models | A | llm-fundamentals:3 computer-vision:2 | 0.8
ai-coding-assistants | AI coding assistants | A | programming-basics:3 | 2
context-engineering | Context engineering | A | prompt-engineering:3 rag:2 | 1
semantic-search | Semantic search | W | embeddings:3 | 0.8
reranking | Reranking | A | semantic-search:3 | 0.4
llm-observability | LLM observability | A | llm-apis:3 observability:2 | 0.5
## mlops
ml-pipelines | ML pipelines | W | scikit-learn:3 etl:2 | 0.8
experiment-tracking | Experiment tracking | W | ml-fundamentals:2 python:3 | 0.8
model-registry | Model registry | W | experiment-tracking:2 | 0.4
feature-stores | Feature stores | W | feature-engineering:3 data-warehousing:2 | 0.5
model-serving | Model serving | W | docker:3 fastapi:2 | 1
model-monitoring | Model monitoring and drift | W | model-evaluation:3 observability:2 | 0.7
kubeflow | Kubeflow | W | kubernetes:3 ml-pipelines:3 | 0.3
data-versioning | Data versioning | W | git:3 | 0.4
ml-testing | Testing ML systems | F | testing:3 model-evaluation:3 | 0.4
ml-system-design | ML system design | F | model-serving:2 feature-stores:2 distributed-systems:2 | 1
sagemaker | SageMaker | W | aws:3 ml-pipelines:2 | 0.5
vertex-ai | Vertex AI | W | gcp:3 ml-pipelines:2 | 0.4
ci-cd-ml | CI/CD for ML | W | ci-cd:3 ml-pipelines:2 | 0.4
llmops | LLMOps | A | llm-evaluation:3 llm-observability:2 model-serving:2 | 1
responsible-ai | Responsible AI governance | F | ml-fairness:2 data-governance:2 | 0.4
"""


@dataclass(frozen=True, slots=True)
class SkillSpec:
    """One row of :data:`SKILL_TABLE`; ``prereqs`` levels are ``None`` where unspecified."""

    skill_id: str
    name: str
    domain: str
    kind: str
    prereqs: tuple[tuple[str, int | None], ...]
    popularity: float


def skill_specs(table: str = SKILL_TABLE) -> list[SkillSpec]:
    """Parse the table, checking that every prerequisite is listed earlier (hence a DAG)."""
    specs: list[SkillSpec] = []
    seen: set[str] = set()
    domain = ""
    for raw in table.strip().splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("## "):
            domain = line[3:].strip()
            continue
        sid, name, kind, prereq_s, pop_s = (c.strip() for c in line.split("|"))
        if kind not in HALF_LIFE_RANGES:
            raise ValueError(f"skill {sid!r}: unknown kind {kind!r}")
        prereqs: list[tuple[str, int | None]] = []
        for tok in prereq_s.split():
            pid, _, lvl = tok.partition(":")
            if pid not in seen:
                raise ValueError(f"skill {sid!r}: prerequisite {pid!r} must be listed earlier")
            if lvl and not 2 <= int(lvl) <= 4:
                raise ValueError(f"skill {sid!r}: prerequisite level {lvl} must be 2-4")
            prereqs.append((pid, int(lvl) if lvl else None))
        if sid in seen:
            raise ValueError(f"skill {sid!r} listed twice")
        seen.add(sid)
        specs.append(SkillSpec(sid, name, domain, kind, tuple(prereqs), float(pop_s or 1.0)))
    return specs


def build_skills(specs: list[SkillSpec], rng: np.random.Generator) -> list[Skill]:
    """Turn specs into ``Skill``s: half-lives drawn from each kind's range (rounded to 5 days),
    unspecified prerequisite levels drawn from 2-4."""
    skills: list[Skill] = []
    for spec in specs:
        rng_hl = HALF_LIFE_RANGES[spec.kind]
        hl = None if rng_hl is None else float(5 * round(rng.uniform(*rng_hl) / 5))
        prereqs = tuple(
            SkillLevel(pid, int(lvl) if lvl is not None else int(rng.integers(2, 5)))
            for pid, lvl in spec.prereqs
        )
        aliases = SKILL_ALIASES.get(spec.skill_id, ())
        skills.append(Skill(spec.skill_id, spec.name, spec.domain, hl, prereqs, aliases))
    return skills
