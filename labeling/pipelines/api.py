"""The pipelines API under /api/v1/ (docs/pipelines.md): chains and taxonomies."""

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.api import ERRORS, _job_for
from labeling.data.exports import chunked
from labeling.errors import NotFound
from labeling.models import Taxonomy, Team
from labeling.permissions import IsManager
from labeling.pipelines import selectors
from labeling.pipelines.serializers import (
    ChainGraphOut,
    ChainLinkIn,
    TaxonomyIn,
    TaxonomyOut,
)
from labeling.pipelines.services.chains import chain_link_create
from labeling.pipelines.services.taxonomies import taxonomy_create


# -- chains (p16-chain) -----------------------------------------------------------------------
class JobChain(APIView):
    """A job's chain: link it to a parent (its input becomes the parent's output), or read the
    chain's graph with the counts on each edge."""

    permission_classes = [IsManager]

    @extend_schema(responses={200: ChainGraphOut, **ERRORS}, summary="The job's chain")
    def get(self, request: Request, job_id: int) -> Response:
        job = _job_for(request, job_id)
        return Response(ChainGraphOut(selectors.chain_graph(job=job)).data)

    @extend_schema(
        request=ChainLinkIn,
        responses={201: ChainGraphOut, **ERRORS},
        summary="Chain the job to a parent job (with a filter)",
    )
    def post(self, request: Request, job_id: int) -> Response:
        child = _job_for(request, job_id)
        data = ChainLinkIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        parent = _job_for(request, values["parent_id"])
        chain_link_create(
            parent=parent,
            child=child,
            by=request.user,
            labels=values.get("labels"),
            confidence_below=values.get("confidence_below"),
            machine_labeled_only=values.get("machine_labeled_only", False),
        )
        graph = selectors.chain_graph(job=child)
        return Response(ChainGraphOut(graph).data, status=status.HTTP_201_CREATED)


class JobChainExport(APIView):
    permission_classes = [IsManager]

    @extend_schema(
        responses={(200, "application/x-ndjson"): OpenApiTypes.STR, **ERRORS},
        summary="Export the chain as a whole: each first-job item with every job's attributes",
    )
    def get(self, request: Request, job_id: int) -> StreamingHttpResponse:
        root = selectors.chain_root(job=_job_for(request, job_id))
        response = StreamingHttpResponse(
            chunked(selectors.chain_export_lines(root=root)), content_type="application/x-ndjson"
        )
        response["Content-Disposition"] = (
            f'attachment; filename="{root.label_attribute_name}-chain.manifest"'
        )
        return response


class TaxonomyCreate(APIView):
    permission_classes = [IsManager]

    @extend_schema(
        request=TaxonomyIn,
        responses={201: TaxonomyOut, **ERRORS},
        summary="Define a taxonomy: Quorum builds its chain of jobs",
    )
    def post(self, request: Request) -> Response:
        data = TaxonomyIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        team = Team.objects.filter(pk=values.pop("team_id")).first()
        if team is None:
            raise NotFound("there is no such team")
        taxonomy = taxonomy_create(created_by=request.user, team=team, **values)
        return Response(TaxonomyOut(taxonomy).data, status=status.HTTP_201_CREATED)


class TaxonomyDetail(APIView):
    permission_classes = [IsManager]

    @extend_schema(responses={200: TaxonomyOut, **ERRORS}, summary="A taxonomy")
    def get(self, request: Request, taxonomy_id: int) -> Response:
        taxonomy = Taxonomy.objects.filter(pk=taxonomy_id).first()
        if taxonomy is None:
            raise NotFound(f"there is no taxonomy {taxonomy_id}")
        return Response(TaxonomyOut(taxonomy).data)
