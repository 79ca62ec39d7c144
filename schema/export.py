"""Print the schema in SDL: `python -m schema.export > schema.graphql`."""

from schema.schema import build_schema

if __name__ == "__main__":
    print(build_schema().as_str())
