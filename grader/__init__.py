"""jaxjudge: an online judge for JAX numerical exercises."""

from grader.errors import JudgeError
from grader.model.problems import Problem, list_problems, load_problem

__all__ = ["JudgeError", "Problem", "list_problems", "load_problem"]
